#include "core/prune/calibration.h"

#include <filesystem>
#include <numeric>

#include "core/data/caption_folder.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/data/image_processor.h"
#include "core/data/inputs_file.h"
#include "core/data/llava_conversations.h"
#include "core/data/prompts.h"
#include "core/data/splits.h"
#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/model/processor.h"

namespace ps {

VlmInputs inputs_rows(const InputsFile& in, const std::vector<int64_t>& rows) {
    const at::Tensor index = at::tensor(rows, at::kLong);
    auto table = [&](const std::vector<int64_t>& v, int64_t columns) {
        return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size()) / columns, columns}, at::kLong)
            .index_select(0, index);
    };
    VlmInputs b;
    b.input_ids = table(in.input_ids, in.tokens);
    if (!in.attention_mask.empty()) b.attention_mask = table(in.attention_mask, in.tokens);
    if (!in.labels.empty()) b.labels = table(in.labels, in.tokens);
    if (!in.pixel_values) return b;
    const at::Tensor pixels = tensor_view(in.file, *in.pixel_values);
    if (in.image_grid_thw.empty() && in.image_tiles.empty()) {
        b.pixel_values = pixels.index_select(0, index).to(at::kFloat);
        if (!in.image_sizes.empty()) b.image_sizes = table(in.image_sizes, 2);
        return b;
    }
    std::vector<at::Tensor> patches;
    for (int64_t r : rows) patches.push_back(pixels.slice(0, in.patch_begin[r], in.patch_begin[r + 1]));
    b.pixel_values = at::cat(patches).to(at::kFloat);
    if (!in.image_grid_thw.empty()) b.image_grid_thw = table(in.image_grid_thw, 3);
    else b.image_tiles = table(in.image_tiles, 2);
    return b;
}

namespace {

// A LLaVA conversation file: each sampled record's first question (about its image, when it has one
// and the model takes images) followed by its answer and the tokenizer's EOS, as LLaVA trains on
// them; the labels keep the answer's tokens only, so the next-token loss is the answer's.
std::vector<VlmInputs> conversation_batches(const Vlm& model, const Processor& processor, const CalibrationOptions& c, uint64_t seed) {
    if (!model.capabilities().generative())
        throw Error(c.data, "conversations calibrate generative models; a dual encoder takes fashion-mnist or a caption folder");
    const std::vector<Conversation> all = load_llava_conversations(c.data);
    const int64_t n = static_cast<int64_t>(all.size());
    if (c.samples > n)
        throw Error(c.data, "calibration asks for " + std::to_string(c.samples) + " samples, the file has " + std::to_string(n) + " conversations");
    const bool images = model.capabilities().tower(Modality::Vision) != nullptr;
    std::vector<VlmInputs> batches;
    for (int64_t i : make_splits(n, seed, c.samples, 0).calibration) {
        const Conversation& conv = all[static_cast<size_t>(i)];
        const bool image = images && !conv.image.empty();
        batches.push_back(processor.chat(image ? load_image(conv.image) : cv::Mat(), conv.turns.front().question, conv.turns.front().answer));
    }
    return batches;
}

// A file of the model's own inputs: its first rows in file order (the file is the calibration set,
// as another tool would read it), one per batch for a generative model (as the prompts of the other
// sources), batch_size per batch for a dual encoder.
std::vector<VlmInputs> inputs_file_batches(const Vlm& model, const CalibrationOptions& c) {
    const InputsFile file = read_inputs_file(c.data);
    if (file.pixel_values && !model.capabilities().tower(Modality::Vision)) throw Error(c.data, "pixel_values: the model takes no images");
    if (c.samples > file.rows)
        throw Error(c.data, "calibration asks for " + std::to_string(c.samples) + " samples, the file has " + std::to_string(file.rows) + " rows");
    std::vector<int64_t> picks(static_cast<size_t>(c.samples));
    std::iota(picks.begin(), picks.end(), 0);
    const size_t step = model.capabilities().generative() ? 1 : static_cast<size_t>(c.batch_size);
    std::vector<VlmInputs> batches;
    for (size_t b = 0; b < picks.size(); b += step)
        batches.push_back(inputs_rows(file, {picks.begin() + b, picks.begin() + std::min(picks.size(), b + step)}));
    return batches;
}

}  // namespace

std::vector<VlmInputs> calibration_batches(const Vlm& model, const CalibrationOptions& c, uint64_t seed) {
    if (is_inputs_file(c.data)) return inputs_file_batches(model, c);
    const Processor processor(model);
    if (is_conversation_file(c.data)) return conversation_batches(model, processor, c, seed);
    // A language model alone reads the captions as its prompts (its images are never loaded); a
    // VLM is asked about each image.
    const bool text_only = !model.capabilities().tower(Modality::Vision);
    std::vector<cv::Mat> images;
    std::vector<std::string> captions;
    if (c.data == "fashion-mnist") {
        const LabelledImages train = load_fashion_mnist(fashion_mnist_dir(), "train");
        const auto picks = make_splits(train.images.size(0), seed, c.samples, 0).calibration;
        const auto& templates = zero_shot_templates();
        for (size_t i = 0; i < picks.size(); ++i) {
            if (!text_only) images.push_back(labelled_image_rgb(train, picks[i]));
            const int64_t label = train.labels[picks[i]].item<int64_t>();
            captions.push_back(class_prompts({train.classes[label]}, {templates[i % templates.size()]})[0]);
        }
    } else {
        if (!std::filesystem::is_directory(c.data))
            throw Error("calibration.data", "\"" + c.data + "\" is neither fashion-mnist, an existing caption folder, a conversation .json file nor a .safetensors file of model inputs");
        const CaptionDataset data = load_caption_folder(c.data);
        const int64_t n = static_cast<int64_t>(data.items.size());
        if (c.samples > n)
            throw Error(c.data, "calibration asks for " + std::to_string(c.samples) + " samples, the folder has " + std::to_string(n));
        for (int64_t i : make_splits(n, seed, c.samples, 0).calibration) {
            if (!text_only) images.push_back(load_image(data.items[i].image));
            captions.push_back(data.items[i].caption);
        }
    }
    std::vector<VlmInputs> batches;
    const bool chat = model.capabilities().generative();
    const size_t step = chat ? 1 : static_cast<size_t>(c.batch_size);
    for (size_t b = 0; b < captions.size(); b += step) {
        const size_t e = std::min(captions.size(), b + step);
        if (chat) {
            batches.push_back(text_only ? processor.chat(cv::Mat(), captions[b])
                                        : processor.chat(images[b], "What is in this image? " + captions[b]));
        } else {
            batches.push_back(processor.dual_encoder({images.begin() + b, images.begin() + e}, {captions.begin() + b, captions.begin() + e}));
        }
    }
    return batches;
}

std::string calibration_unavailable(const Vlm& model, const CalibrationOptions& c) {
    return is_inputs_file(c.data) ? std::string() : prompts_unavailable(model);
}

std::string prompts_unavailable(const Vlm& model) {
    const Processor processor(model);
    try {
        processor.tokenizer();
        if (model.capabilities().tower(Modality::Vision)) processor.image_config();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace ps
