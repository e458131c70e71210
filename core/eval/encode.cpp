#include "core/eval/encode.h"

#include <ATen/core/grad_mode.h>
#include <opencv2/core.hpp>

#include "core/data/prompts.h"
#include "core/error.h"

namespace ps {

const std::vector<std::string>& eval_templates(const EvalOptions& opt) {
    return opt.templates.empty() ? zero_shot_templates() : opt.templates;
}

DualEncoderEncoder::DualEncoderEncoder(const Vlm& model) : model_(model), processor_(model) {
    if (model.towers().size() != 2 || model.towers()[1].modality != Modality::Language || !model.weights().has("logit_scale"))
        throw Error(model.map().family, "evaluation tasks need a dual encoder (CLIP, SigLIP, VisionTextDualEncoder)");
    at::NoGradGuard no_grad;
    text_probe_ = model.run_tower(1, processor_.texts({"a photo"}));
    const ImageProcessorConfig& cfg = processor_.image_config();
    VlmInputs img;
    img.pixel_values = preprocess_batch({cv::Mat::zeros(cfg.height, cfg.width, CV_8UC3)}, cfg);
    image_probe_ = model.run_tower(0, img);
}

at::Tensor DualEncoderEncoder::images(const EvalSet& set, int64_t batch, const JobControl& job,
                                      const std::string& stage) const {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (int64_t b = 0; b < set.size; b += batch) {
        VlmInputs in;
        in.pixel_values = set.pixels(b, std::min(set.size, b + batch));
        parts.push_back(model_.head(in, {model_.run_tower(0, in), text_probe_}).image_embeds.to(at::kCPU, at::kFloat));
        job.report(stage, std::min(set.size, b + batch), set.size);
    }
    if (parts.empty()) throw Error(set.name, "no images to evaluate");
    return at::cat(parts);
}

at::Tensor DualEncoderEncoder::texts(const std::vector<std::string>& texts, int64_t batch) const {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (size_t b = 0; b < texts.size(); b += static_cast<size_t>(batch)) {
        const std::vector<std::string> part(texts.begin() + b, texts.begin() + std::min(texts.size(), b + batch));
        const VlmInputs in = processor_.texts(part);
        parts.push_back(model_.head(in, {image_probe_, model_.run_tower(1, in)}).text_embeds.to(at::kCPU, at::kFloat));
    }
    if (parts.empty()) throw Error("texts", "no texts to encode");
    return at::cat(parts);
}

at::Tensor DualEncoderEncoder::classes(const std::vector<std::string>& classes, const std::vector<std::string>& templates) const {
    if (classes.empty()) throw Error("zero-shot", "the evaluation set has no classes");
    const at::Tensor e = texts(class_prompts(classes, templates)).view({static_cast<int64_t>(classes.size()), static_cast<int64_t>(templates.size()), -1});
    const at::Tensor mean = e.mean(1);
    return mean / mean.norm(2, -1, true);
}

at::Tensor DualEncoderEncoder::logits(const at::Tensor& image_embeds, const at::Tensor& text_embeds) const {
    const WeightStore& w = model_.weights();
    at::Tensor out = at::matmul(image_embeds, text_embeds.t()) * w.get("logit_scale").to(at::kCPU, at::kFloat).exp();
    if (w.has("logit_bias")) out = out + w.get("logit_bias").to(at::kCPU, at::kFloat);
    return out;
}

}  // namespace ps
