#include "core/model/processor.h"

#include <algorithm>

#include <opencv2/core.hpp>

#include "core/error.h"
#include "core/io/chat_template.h"
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
    const Capabilities& caps = model.capabilities();
    if (caps.image_tokens_in_language) {
        image_token_ = cfg.integer("image_token_index", cfg.integer("image_token_id", 32000));
        image_seq_length_ = caps.view_tokens > 0 ? caps.view_tokens : cfg.integer("image_seq_length", 576);
        vision_start_ = cfg.integer("vision_start_token_id", -1);
        vision_end_ = cfg.integer("vision_end_token_id", -1);
        image_markers_ = {caps.image_start, caps.image_end};
        tile_markers_ = caps.tile_markers;
        image_spacing_ = caps.image_spacing;
        if (const auto* tiled = dynamic_cast<const TiledVlm*>(&model); tiled && tiled->anyres()) anyres_ = *tiled->anyres();
    } else if (const TowerCapabilities* language = caps.tower(Modality::Language); caps.generative() && language) {
        max_text_tokens_ = cfg.sub(language->config_key).integer("max_position_embeddings", 0);
    } else {
        max_text_tokens_ = cfg.sub("text_config").integer("max_position_embeddings", family_ == "siglip" ? 64 : 77);
    }
    // The checkpoint's own chat format when it is one we build (ChatML), else the family's.
    if (caps.generative()) try {
            if (auto t = chat_prompt_template(read_chat_template(ckpt.dir()))) chat_template_ = *t;
        } catch (const Error&) {
            chat_error_ = std::current_exception();
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

ImageInputs ImageInputs::select(const std::vector<int64_t>& rows) const {
    ImageInputs out;
    for (int64_t r : rows) out.tokens.push_back(tokens.at(static_cast<size_t>(r)));
    const at::Tensor index = at::tensor(rows, at::kLong);
    if (!image_grid_thw.defined() && !image_tiles.defined()) {
        out.pixel_values = pixel_values.index_select(0, index.to(pixel_values.device()));
        if (image_sizes.defined()) out.image_sizes = image_sizes.index_select(0, index.to(image_sizes.device()));
        return out;
    }
    // Each image's rows of pixel_values: its patches (native resolution) or views (cropped tiles).
    const at::Tensor counts = image_tiles.defined() ? tile_views(image_tiles) : image_grid_thw.prod(-1).cpu();
    const at::Tensor first = counts.cumsum(0) - counts;
    std::vector<at::Tensor> parts;
    for (int64_t r : rows) parts.push_back(pixel_values.narrow(0, first[r].item<int64_t>(), counts[r].item<int64_t>()));
    out.pixel_values = at::cat(parts);
    for (at::Tensor ImageInputs::*f : {&ImageInputs::image_grid_thw, &ImageInputs::image_tiles})
        if ((this->*f).defined()) out.*f = (this->*f).index_select(0, index.to((this->*f).device()));
    return out;
}

PromptImage ImageInputs::prompt(size_t i) const {
    PromptImage p;
    p.tokens = tokens.at(i);
    if (image_tiles.defined()) {
        const at::Tensor grid = image_tiles[static_cast<int64_t>(i)].to(at::kCPU, at::kLong);
        p.tiles = {grid[0].item<int64_t>(), grid[1].item<int64_t>()};
    }
    return p;
}

PromptImage Processor::prompt_image(int rows, int cols) const {
    if (anyres_) return {anyres_->layout(rows, cols).tokens(anyres_->side)};
    const ImageProcessorConfig& cfg = image_config();
    if (cfg.cuts_tiles()) {
        const std::array<int, 2> grid = tile_grid(rows, cols, cfg);
        return {tile_views(grid) * image_seq_length_, {grid[0], grid[1]}};
    }
    if (!cfg.native_resolution) return {image_seq_length_};
    const auto [h, w] = resized_size(rows, cols, cfg);
    return {(h / cfg.patch_size) * (w / cfg.patch_size) / (cfg.merge_size * cfg.merge_size)};
}

ImageInputs Processor::images(const std::vector<cv::Mat>& images) const {
    if (images.empty()) throw Error("run", "at least one image is needed");
    const ImageProcessorConfig& cfg = image_config();
    ImageInputs out;
    if (anyres_) {  // each image's views, zero-padded to the most views, as the processor's do_pad
        if (cfg.grid_pinpoints.empty())
            throw Error("preprocessor_config.json", "image_processor_type " + cfg.type +
                                                        " does not tile images, and the model takes tiled ones (image_grid_pinpoints)");
        std::vector<at::Tensor> views;
        std::vector<int64_t> sizes;
        int64_t most = 0;
        for (const cv::Mat& image : images) {
            views.push_back(anyres_tiles(image, cfg));
            most = std::max(most, views.back().size(0));
            sizes.insert(sizes.end(), {image.rows, image.cols});
            out.tokens.push_back(prompt_image(image.rows, image.cols).tokens);
        }
        for (at::Tensor& v : views) v = at::constant_pad_nd(v, {0, 0, 0, 0, 0, 0, 0, most - v.size(0)});
        out.pixel_values = at::stack(views);
        out.image_sizes = at::tensor(sizes, at::kLong).view({-1, 2});
        return out;
    }
    if (cfg.cuts_tiles()) {  // each image's tiles and whole view, one after another
        std::vector<at::Tensor> views;
        std::vector<int64_t> grids;
        for (const cv::Mat& image : images) {
            const std::array<int, 2> grid = tile_grid(image.rows, image.cols, cfg);
            views.push_back(crop_tiles(image, cfg));
            grids.insert(grids.end(), grid.begin(), grid.end());
            out.tokens.push_back(tile_views(grid) * image_seq_length_);
        }
        out.pixel_values = at::cat(views);
        out.image_tiles = at::tensor(grids, at::kLong).view({-1, 2});
        return out;
    }
    if (!cfg.native_resolution) {
        out.pixel_values = preprocess_batch(images, cfg);
        out.tokens.assign(images.size(), image_seq_length_);
        return out;
    }
    std::vector<at::Tensor> patches;
    std::vector<int64_t> grids;
    for (const cv::Mat& image : images) {
        std::array<int64_t, 3> grid{};
        patches.push_back(image_patches(preprocess(image, cfg), cfg, grid));
        grids.insert(grids.end(), grid.begin(), grid.end());
        out.tokens.push_back(grid[0] * grid[1] * grid[2] / (cfg.merge_size * cfg.merge_size));
    }
    out.pixel_values = at::cat(patches);
    out.image_grid_thw = at::tensor(grids, at::kLong).view({-1, 3});
    return out;
}

ImageInputs Processor::gray_images(const at::Tensor& images) const {
    const ImageProcessorConfig& cfg = image_config();
    if (!cfg.native_resolution && !anyres_ && !cfg.cuts_tiles()) {
        ImageInputs out;
        out.pixel_values = preprocess_gray_batch(images, cfg);
        out.tokens.assign(static_cast<size_t>(out.pixel_values.size(0)), image_seq_length_);
        return out;
    }
    if (!images.defined() || images.dim() != 3 || images.scalar_type() != at::kByte)
        throw Error("preprocess", "expected grayscale images [N, H, W] of uint8");
    const at::Tensor gray = images.to(at::kCPU).contiguous();
    std::vector<cv::Mat> rgb;
    for (int64_t i = 0; i < gray.size(0); ++i) {
        const cv::Mat plane(static_cast<int>(gray.size(1)), static_cast<int>(gray.size(2)), CV_8UC1, gray[i].data_ptr<uint8_t>());
        cv::Mat out;
        cv::merge(std::vector<cv::Mat>{plane, plane, plane}, out);
        rgb.push_back(out);
    }
    return this->images(rgb);
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
    for (const std::string& t : texts) ids.push_back(tokenizer().encode(t, opt));
    // SigLIP was trained on texts padded to its full context and reads no mask (its processor
    // pads to max_length); CLIP and BERT pad to the longest text and mask the padding.
    const bool siglip = family_ == "siglip";
    VlmInputs in = batch(ids, false, siglip ? static_cast<size_t>(max_text_tokens_) : 0);
    if (siglip) in.attention_mask = at::Tensor();
    return in;
}

VlmInputs Processor::batch(const std::vector<std::vector<int64_t>>& ids, bool pad_left, size_t length) const {
    for (const auto& row : ids) length = std::max(length, row.size());
    const int64_t pad = tokenizer().pad_id().value_or(tokenizer().eos_id().value_or(0));
    VlmInputs in;
    in.input_ids = at::full({static_cast<int64_t>(ids.size()), static_cast<int64_t>(length)}, pad, at::kLong);
    in.attention_mask = at::zeros_like(in.input_ids);
    for (size_t r = 0; r < ids.size(); ++r) {
        const int64_t n = static_cast<int64_t>(ids[r].size()), start = pad_left ? static_cast<int64_t>(length) - n : 0;
        in.input_ids[static_cast<int64_t>(r)].slice(0, start, start + n).copy_(at::tensor(ids[r], at::kLong));
        in.attention_mask[static_cast<int64_t>(r)].slice(0, start, start + n).fill_(1);
    }
    return in;
}

std::vector<int64_t> Processor::chat_ids(const std::string& question, const PromptImage& image_place) const {
    const bool image = image_place.tokens > 0;
    if (chat_error_) std::rethrow_exception(chat_error_);
    const std::string kImage = "{image", kQuestion = "{question}";
    const size_t image_at = chat_template_.find(kImage);
    const size_t image_end = chat_template_.find('}', image_at);
    if (image_at == std::string::npos || image_end == std::string::npos) throw Error("run", "chat prompts need a generative model");
    // As the Hugging Face processor splits the prompt at its image: the text before carries the
    // tokenizer's special tokens (unless it starts with BOS already, as chat templates write it),
    // the image's part follows, the text after is encoded without them. Without an image,
    // "{image}" and the line break after it go ("{image|text}": the text takes its place) and the
    // prompt is encoded whole.
    const Tokenizer& tokenizer = this->tokenizer();
    const std::string before = chat_template_.substr(0, image_at) + (image ? image_spacing_ : "");
    const std::string mark = chat_template_.substr(image_at + kImage.size(), image_end - image_at - kImage.size());
    std::string after = chat_template_.substr(image_end + 1);
    if (image) after.insert(0, image_spacing_);
    else if (!mark.empty() && mark[0] == '|') after.insert(0, mark.substr(1));
    else if (!after.empty() && after[0] == '\n') after.erase(0, 1);
    const size_t question_at = after.find(kQuestion);
    if (question_at != std::string::npos) after.replace(question_at, kQuestion.size(), question);

    EncodeOptions first, plain;
    plain.add_special_tokens = false;
    const auto bos = tokenizer.bos_id() ? tokenizer.id_to_token(*tokenizer.bos_id()) : std::nullopt;
    first.add_special_tokens = !(bos && !bos->empty() && before.rfind(*bos, 0) == 0);
    if (!image) return tokenizer.encode(before + after, first);
    if (image_seq_length_ <= 0) throw Error("run", "this model takes no images; ask without one");
    // The special tokens go with the first text: before the image, or after it when the prompt
    // starts with the image (BLIP-2's query tokens come before BOS).
    std::vector<int64_t> ids = before.empty() ? std::vector<int64_t>{} : tokenizer.encode(before, first);
    const std::vector<int64_t> part = image_ids(image_place);
    ids.insert(ids.end(), part.begin(), part.end());
    const std::vector<int64_t> rest = tokenizer.encode(after, before.empty() ? first : plain);
    ids.insert(ids.end(), rest.begin(), rest.end());
    return ids;
}

std::vector<int64_t> Processor::image_ids(const PromptImage& image) const {
    std::vector<int64_t> ids;
    auto tokens = [&](int64_t n) { ids.insert(ids.end(), static_cast<size_t>(n), image_token_); };
    if (tile_markers_) {
        // Idefics3Processor's image string, tokenized as the tokenizer splits it at its added
        // tokens: the line breaks between them are text of their own.
        EncodeOptions plain;
        plain.add_special_tokens = false;
        const int64_t start = marker_id(image_markers_[0]), rows = image.tiles[0], cols = image.tiles[1];
        const int64_t views = rows * cols > 1 ? rows * cols + 1 : 1;
        if (image.tokens != views * image_seq_length_)
            throw Error("run", std::to_string(image.tokens) + " image tokens are not the " + std::to_string(views) + " views of a " +
                                   std::to_string(rows) + "x" + std::to_string(cols) + " tile grid");
        if (views > 1)
            for (int64_t r = 1; r <= rows; ++r) {
                for (int64_t c = 1; c <= cols; ++c) {
                    ids.push_back(start);
                    ids.push_back(marker_id("<row_" + std::to_string(r) + "_col_" + std::to_string(c) + ">"));
                    tokens(image_seq_length_);
                }
                const std::vector<int64_t> line = tokenizer().encode(r < rows ? "\n" : "\n\n", plain);
                ids.insert(ids.end(), line.begin(), line.end());
            }
        ids.push_back(start);
        ids.push_back(marker_id("<global-img>"));
        tokens(image_seq_length_);
        ids.push_back(marker_id(image_markers_[1]));
        return ids;
    }
    if (vision_start_ >= 0) ids.push_back(vision_start_);
    if (!image_markers_[0].empty()) ids.push_back(marker_id(image_markers_[0]));
    tokens(image.tokens);
    if (!image_markers_[1].empty()) ids.push_back(marker_id(image_markers_[1]));
    if (vision_end_ >= 0) ids.push_back(vision_end_);
    return ids;
}

int64_t Processor::marker_id(const std::string& token) const {
    const std::optional<int64_t> id = tokenizer().token_to_id(token);
    if (!id) throw Error("tokenizer", "has no " + token + " token, which the model's prompts put around each image");
    return *id;
}

VlmInputs Processor::chat(const cv::Mat& image, const std::string& question) const {
    VlmInputs in;
    tokenizer();  // the tokenizer first: its error is the one a missing pair of files reports
    const ImageInputs pixels = image.empty() ? ImageInputs{} : images({image});
    in.input_ids = at::tensor(chat_ids(question, image.empty() ? PromptImage{} : pixels.prompt(0)), at::kLong).unsqueeze(0);
    pixels.put(in);
    in.attention_mask = at::ones_like(in.input_ids);
    return in;
}

VlmInputs Processor::chat(const cv::Mat& image, const std::string& question, const std::string& answer) const {
    VlmInputs in = chat(image, question);
    std::vector<int64_t> ids(in.input_ids.data_ptr<int64_t>(), in.input_ids.data_ptr<int64_t>() + in.input_ids.numel());
    const auto prompt = static_cast<int64_t>(ids.size());
    const Tokenizer& tok = tokenizer();
    EncodeOptions plain;
    plain.add_special_tokens = false;
    const std::vector<int64_t> reply = tok.encode(answer, plain);
    ids.insert(ids.end(), reply.begin(), reply.end());
    if (tok.eos_id()) ids.push_back(*tok.eos_id());
    in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
    in.attention_mask = at::ones_like(in.input_ids);
    in.labels = in.input_ids.clone();
    in.labels.slice(1, 0, prompt).fill_(-100);
    return in;
}

}  // namespace ps
