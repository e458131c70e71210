// Token heatmaps for front ends that show many: the model loaded once, an image (a file or a
// Fashion-MNIST test image) scored at any block by any metric, what run-time pruning at a keep
// ratio drops marked, and the overlay rendered. Scores are cached per image, block and metric, so
// moving a keep slider costs a render only. What `prunestudio-cli tokens` and the GUI's Tokens
// tab call; the header is torch-free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/token/token_grid.h"

namespace ps {

struct HeatmapRequest {
    std::string image;       // an image file (PNG, JPEG, …); empty: the test image below
    int64_t test_image = 0;  // index into the Fashion-MNIST test split
    int block = -1;          // block of the scored tower; -1: its last
    std::string metric = "cls";  // cls | received | cim | text (LLaVA: last prompt token -> image tokens)
    double keep = 1.0;           // marks what run-time pruning at this keep ratio drops
    std::string text;  // metric text: the question; empty: "What is shown in this image?"
    std::string colormap = "inferno";
};

struct HeatmapImage {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // height · width · 3, row-major
    TokenGrid grid;            // with the dropped tokens marked
    std::string tower;         // the scored tower's name
    int block = 0;
    std::string method;        // compare(): the token method shown
};

class HeatmapSession {
public:
    // Loads the checkpoint; throws ps::Error naming the file as Vlm::load does, or the image
    // processor's (preprocessor_config.json) when it is missing or broken: no image can be shown.
    explicit HeatmapSession(const std::string& model_dir, const std::string& device = "cpu",
                            const std::string& dtype = "float32");
    ~HeatmapSession();

    // The metrics this model is scored by: cls, received and cim over its vision tower's patches,
    // and for a decoder whose checkpoint has a tokenizer, text.
    std::vector<std::string> metrics() const;
    // What keeps a metric of this kind of model from being offered (a decoder without a tokenizer:
    // why it has none); empty when every one is.
    std::string limits() const;
    // Blocks of the tower `metric` scores (vision; LLaVA's language model for "text").
    int blocks(const std::string& metric) const;
    // Throws ps::Error naming the file or field: an unreadable image, a block out of range, an
    // unknown metric or colormap, a keep ratio outside (0, 1]. Safe to call from any thread (one
    // render at a time).
    HeatmapImage render(const HeatmapRequest& request) const;

    // The token methods whose kept tokens this model can show side by side (core/token/method_grid.h);
    // empty when it cannot (its image tokens are not its vision patches one for one).
    std::vector<std::string> token_methods() const;
    // The image of `request` once per method, asked about as the text metric asks (request.text), with
    // what each method keeps at request.keep (request.block and metric unused): kept tokens bright,
    // merged ones half, dropped ones marked. Throws ps::Error as render() does, or naming the method.
    std::vector<HeatmapImage> compare(const HeatmapRequest& request, const std::vector<std::string>& methods) const;

    // The class names of the first `count` Fashion-MNIST test images (what HeatmapRequest::test_image picks).
    static std::vector<std::string> test_image_classes(int64_t count);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ps
