// Turns a user's images and text into model inputs the way the family's Hugging Face processor
// does: the checkpoint's tokenizer and image processor, CLIP/BERT/SigLIP padding conventions, and
// the chat prompt with the image token expanded to the image's feature count (fixed, as LLaVA's,
// or from the image's size, as Qwen2-VL's). A checkpoint may
// lack either file: what needs it then throws the error that reading it gave.
#pragma once
#include <array>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/data/image_processor.h"
#include "core/io/tokenizer.h"
#include "core/model/anyres.h"
#include "core/model/vlm.h"

namespace ps {

// An image as a chat prompt holds it: its image-token count and, for a processor that cuts it into
// tiles (image_tiles), its tile grid (rows, columns), which Idefics3's prompt marks.
struct PromptImage {
    int64_t tokens = 0;
    std::array<int64_t, 2> tiles{1, 1};
};

// Images as a vision tower takes them (VlmInputs' pixel_values, and image_grid_thw for a
// native-resolution family, image_sizes for a tiled one or image_tiles for one cropped into tiles),
// with the number of image tokens each is in a chat prompt.
struct ImageInputs {
    at::Tensor pixel_values, image_grid_thw, image_sizes, image_tiles;
    std::vector<int64_t> tokens;
    // The images `rows` (repeats allowed), in that order.
    ImageInputs select(const std::vector<int64_t>& rows) const;
    // How image i sits in a chat prompt.
    PromptImage prompt(size_t i) const;
    void put(VlmInputs& in) const {
        in.pixel_values = pixel_values;
        in.image_grid_thw = image_grid_thw;
        in.image_sizes = image_sizes;
        in.image_tiles = image_tiles;
    }
};

class Processor {
public:
    // Reads tokenizer files and preprocessor_config.json from the checkpoint folder of `model`;
    // either may be missing or broken (see has_tokenizer, tokenizer, image_config).
    explicit Processor(const Vlm& model);

    // Dual encoders: images [N,3,H,W] and texts padded to one length with an attention mask.
    VlmInputs dual_encoder(const std::vector<cv::Mat>& images, const std::vector<std::string>& texts) const;
    // The text half of dual_encoder(): input_ids and attention_mask only.
    VlmInputs texts(const std::vector<std::string>& texts) const;
    // Generative models: the checkpoint's chat format (core/io/chat_template.h) when recognised,
    // else the family's (Capabilities::chat_template), with one image and the question; the image is
    // as many image tokens as it gives features. An empty image asks the question alone.
    VlmInputs chat(const cv::Mat& image, const std::string& question) const;
    // chat() followed by `answer` and the tokenizer's EOS, as LLaVA trains on a turn: `labels` keep
    // the answer's tokens and EOS (-100 elsewhere), so the next-token loss is the answer's.
    VlmInputs chat(const cv::Mat& image, const std::string& question, const std::string& answer) const;
    // The ids of chat() for `image` (no tokens: no image), placed where the template puts the image
    // (between the config's vision start and end tokens when it names them).
    std::vector<int64_t> chat_ids(const std::string& question, const PromptImage& image) const;
    // How an image of rows x cols pixels sits in a chat prompt.
    PromptImage prompt_image(int rows, int cols) const;

    // Images alone, as the vision tower takes them; RGB images, or grey ones [N,H,W] uint8.
    ImageInputs images(const std::vector<cv::Mat>& images) const;
    ImageInputs gray_images(const at::Tensor& images) const;
    // Rows of token ids as one batch: input_ids [N, L] filled with the tokenizer's pad token (else
    // its EOS) and attention_mask [N, L], 1 on each row's tokens. L is the longest row, or `length`
    // when that is longer; the rows sit at the start, or with `pad_left` at the end (as batched
    // generation wants).
    VlmInputs batch(const std::vector<std::vector<int64_t>>& ids, bool pad_left, size_t length = 0) const;

    bool has_tokenizer() const { return tokenizer_ != nullptr; }
    // Throw the ps::Error reading the file gave (naming the folder or file) when it is missing or broken.
    const Tokenizer& tokenizer() const;
    const ImageProcessorConfig& image_config() const;

private:
    std::string family_;
    std::string chat_template_;
    std::exception_ptr chat_error_;  // the checkpoint's chat template could not be read
    std::unique_ptr<Tokenizer> tokenizer_;
    std::exception_ptr tokenizer_error_;
    std::unique_ptr<ImageProcessorConfig> image_;
    std::exception_ptr image_error_;
    int64_t max_text_tokens_ = 0;  // context of the text tower; 0: unbounded here
    int64_t image_token_ = -1;
    int64_t image_seq_length_ = 0;
    int64_t vision_start_ = -1, vision_end_ = -1;  // tokens around an image's tokens, where the config names them
    std::array<std::string, 2> image_markers_;       // ...or the tokenizer's tokens of this text (Capabilities)
    std::string image_spacing_;                      // Capabilities::image_spacing
    bool tile_markers_ = false;                      // Capabilities::tile_markers
    // The ids of one image's part of a prompt.
    std::vector<int64_t> image_ids(const PromptImage& image) const;
    int64_t marker_id(const std::string& token) const;
    std::optional<AnyresGeometry> anyres_;  // a tiled model's (TiledVlm)
};

}  // namespace ps
