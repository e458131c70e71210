// Turns a user's images and text into model inputs the way the family's Hugging Face processor
// does: the checkpoint's tokenizer and image processor, CLIP/BERT/SigLIP padding conventions, and
// LLaVA's chat prompt with the image token expanded to the image's feature count.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/data/image_processor.h"
#include "core/io/tokenizer.h"
#include "core/model/vlm.h"

namespace ps {

class Processor {
public:
    // Reads tokenizer files and preprocessor_config.json from the checkpoint folder of `model`.
    explicit Processor(const Vlm& model);

    // Dual encoders: images [N,3,H,W] and texts padded to one length with an attention mask.
    VlmInputs dual_encoder(const std::vector<cv::Mat>& images, const std::vector<std::string>& texts) const;
    // The text half of dual_encoder(): input_ids and attention_mask only.
    VlmInputs texts(const std::vector<std::string>& texts) const;
    // LLaVA-1.5: "USER: <image>\n{question} ASSISTANT:" for one image.
    VlmInputs chat(const cv::Mat& image, const std::string& question) const;

    const Tokenizer& tokenizer() const { return *tokenizer_; }
    const ImageProcessorConfig& image_config() const { return image_; }

private:
    std::string family_;
    std::unique_ptr<Tokenizer> tokenizer_;
    ImageProcessorConfig image_;
    int64_t max_text_tokens_ = 0;  // context of the text tower; 0: unbounded here
    int64_t image_token_ = -1;
    int64_t image_seq_length_ = 0;
};

}  // namespace ps
