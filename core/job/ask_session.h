// A generative model asked about one image at a time, its greedy answer streamed token by token:
// what the GUI's Ask tab calls to put the same question to the dense model and a pruned or
// recovered run side by side. The model is loaded once; the header is torch-free.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/job_control.h"

namespace ps {

struct AskRequest {
    std::string image;       // an image file (PNG, JPEG, …); empty: the test image below
    int64_t test_image = 0;  // index into the Fashion-MNIST test split
    std::string question;
    int max_new_tokens = 64;
};

// A Fashion-MNIST test image for a front end's list: its class and its pixels.
struct TestImage {
    std::string label;
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // height · width · 3, row-major
};

class AskSession {
public:
    // Loads the checkpoint; throws ps::Error naming the folder or file for one that cannot be loaded,
    // a model that does not generate text, or a checkpoint without a tokenizer.
    explicit AskSession(const std::string& model_dir, const std::string& device = "cpu", const std::string& dtype = "float32");
    ~AskSession();

    // The greedy answer in the checkpoint's chat format (the image left out for a model without a
    // vision tower); `partial` sees the answer decoded so far after every token. Throws ps::Error
    // for an empty question or an unreadable image, Cancelled when `job` is cancelled. One answer
    // at a time per session; callable from any thread.
    std::string ask(const AskRequest& request, const std::function<void(const std::string& so_far)>& partial,
                    const JobControl& job) const;

    // The first `count` test images (AskRequest::test_image indexes them); throws ps::Error when the
    // Fashion-MNIST files are missing.
    static std::vector<TestImage> test_images(int64_t count);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ps
