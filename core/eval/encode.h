// Embeddings of a dual encoder (CLIP, SigLIP, VisionTextDualEncoder), normalised as its head
// normalises them; the one place evaluation tasks run the towers.
#pragma once
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/eval/eval_set.h"
#include "core/job_control.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"

namespace ps {

struct EvalOptions {
    int64_t batch_size = 256;
    std::vector<std::string> templates;  // zero-shot prompt templates; empty: zero_shot_templates()
};
const std::vector<std::string>& eval_templates(const EvalOptions& opt);

class DualEncoderEncoder {
public:
    // Throws ps::Error when `model` is not a dual encoder.
    explicit DualEncoderEncoder(const Vlm& model);

    const Processor& processor() const { return processor_; }
    // [N, P] for the images of `set`, `batch` at a time, reporting progress under `stage`.
    at::Tensor images(const EvalSet& set, int64_t batch, const JobControl& job, const std::string& stage) const;
    // [M, P]
    at::Tensor texts(const std::vector<std::string>& texts, int64_t batch = 256) const;
    // Prompt ensembling as CLIP's zero-shot does: the mean of each class's normalised prompt
    // embeddings, normalised again. [C, P]
    at::Tensor classes(const std::vector<std::string>& classes, const std::vector<std::string>& templates) const;
    // Logits of image embeddings against text (or class) embeddings: exp(logit_scale)·cos (+ bias).
    at::Tensor logits(const at::Tensor& image_embeds, const at::Tensor& text_embeds) const;

private:
    const Vlm& model_;
    Processor processor_;
    StageState text_probe_, image_probe_;  // one text / one image, so head() can run a single side
};

}  // namespace ps
