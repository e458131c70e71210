#include "core/model/processor.h"

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/model/config_reader.h"

namespace ps {

Processor::Processor(const Vlm& model) : family_(model.map().family), chat_template_(model.capabilities().chat_template) {
    const Checkpoint& ckpt = model.weights().checkpoint();
    try {
        tokenizer_ = load_tokenizer(ckpt.dir());
    } catch (const Error&) {
        tokenizer_error_ = std::current_exception();
    }
    try {
        image_ = std::make_unique<ImageProcessorConfig>(read_image_processor_config(ckpt.dir()));
    } catch (const Error&) {
        image_error_ = std::current_exception();
    }
    const ConfigReader cfg(ckpt.config(), ckpt.config_path());
    const ConfigReader text = cfg.sub("text_config");
    if (model.capabilities().image_tokens_in_language) {
        image_token_ = cfg.integer("image_token_index", cfg.integer("image_token_id", 32000));
        image_seq_length_ = cfg.integer("image_seq_length", 576);
    } else {
        max_text_tokens_ = text.integer("max_position_embeddings", family_ == "siglip" ? 64 : 77);
    }
}

const Tokenizer& Processor::tokenizer() const {
    if (!tokenizer_) std::rethrow_exception(tokenizer_error_);
    return *tokenizer_;
}

const ImageProcessorConfig& Processor::image_config() const {
    if (!image_) std::rethrow_exception(image_error_);
    return *image_;
}

VlmInputs Processor::images(const std::vector<cv::Mat>& images) const {
    if (images.empty()) throw Error("run", "at least one image is needed");
    VlmInputs in;
    in.pixel_values = preprocess_batch(images, image_config());
    return in;
}

VlmInputs Processor::dual_encoder(const std::vector<cv::Mat>& images, const std::vector<std::string>& texts) const {
    if (images.empty() || texts.empty()) throw Error("run", "at least one image and one text are needed");
    VlmInputs in = this->texts(texts);
    in.pixel_values = preprocess_batch(images, image_config());
    return in;
}

VlmInputs Processor::texts(const std::vector<std::string>& texts) const {
    if (texts.empty()) throw Error("run", "at least one text is needed");
    EncodeOptions opt;
    opt.max_length = static_cast<size_t>(max_text_tokens_);
    std::vector<std::vector<int64_t>> ids;
    size_t longest = 0;
    for (const std::string& t : texts) {
        ids.push_back(tokenizer().encode(t, opt));
        longest = std::max(longest, ids.back().size());
    }
    // SigLIP was trained on texts padded to its full context and reads no mask (its processor
    // pads to max_length); CLIP and BERT pad to the longest text and mask the padding.
    const bool siglip = family_ == "siglip";
    const size_t length = siglip ? static_cast<size_t>(max_text_tokens_) : longest;
    const int64_t pad = tokenizer().pad_id().value_or(tokenizer().eos_id().value_or(0));
    at::Tensor input_ids = at::full({static_cast<int64_t>(texts.size()), static_cast<int64_t>(length)}, pad, at::kLong);
    at::Tensor mask = at::zeros_like(input_ids);
    for (size_t r = 0; r < ids.size(); ++r)
        for (size_t c = 0; c < ids[r].size(); ++c) {
            input_ids[r][c] = ids[r][c];
            mask[r][c] = 1;
        }
    VlmInputs in;
    in.input_ids = input_ids;
    if (!siglip) in.attention_mask = mask;
    return in;
}

VlmInputs Processor::chat(const cv::Mat& image, const std::string& question) const {
    const size_t image_at = chat_template_.find("{image}");
    if (image_at == std::string::npos) throw Error("run", "chat prompts need a generative model with images in its prompt");
    // As the Hugging Face processor splits the prompt at its image: the text before carries BOS,
    // the image token is repeated once per image feature, the text after is encoded without special tokens.
    const Tokenizer& tokenizer = this->tokenizer();
    const ImageProcessorConfig& image_config = this->image_config();
    std::vector<int64_t> ids = tokenizer.encode(chat_template_.substr(0, image_at));
    ids.insert(ids.end(), static_cast<size_t>(image_seq_length_), image_token_);
    EncodeOptions plain;
    plain.add_special_tokens = false;
    std::string after = chat_template_.substr(image_at + std::string("{image}").size());
    const size_t question_at = after.find("{question}");
    if (question_at != std::string::npos) after.replace(question_at, std::string("{question}").size(), question);
    const std::vector<int64_t> rest = tokenizer.encode(after, plain);
    ids.insert(ids.end(), rest.begin(), rest.end());
    VlmInputs in;
    in.pixel_values = preprocess_batch({image}, image_config);
    in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
    in.attention_mask = at::ones_like(in.input_ids);
    return in;
}

}  // namespace ps
