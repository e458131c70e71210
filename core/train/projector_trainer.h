// LLaVA-style feature alignment (LLaVA's first stage) for a generative model whose image features
// take the place of image tokens: the vision tower and the language model stay frozen, only the
// projector's tensors learn, by next-token cross-entropy on the answer tokens of chat prompts about
// labelled training images (core/data/class_questions.h). Logits are computed at the answer
// positions only. Seeded (the same losses in two runs), resumable from a state file, with progress
// and cancel.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/data/class_questions.h"
#include "core/data/fashion_mnist.h"
#include "core/io/tensor_view.h"
#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

// The defaults are the generative default's recipe (resources/default-vlm/manifest.json).
struct ProjectorTrainingOptions {
    int64_t steps = 300;
    int64_t batch_size = 16;
    double lr = 2e-3;            // peak, after a linear warm-up over warmup_steps, then cosine to 0
    int64_t warmup_steps = 12;
    uint64_t seed = 0;
    std::vector<std::pair<QuestionKind, double>> mix = {
        {QuestionKind::Open, 0.4}, {QuestionKind::YesNo, 0.3}, {QuestionKind::Choice, 0.2}, {QuestionKind::Caption, 0.1}};
    std::string state_path;      // resumable state (written every save_every steps); "" for none
    int64_t save_every = 20;
};

struct ProjectorTrainingResult {
    std::vector<double> losses;  // per step run here (from resumed_from on)
    int64_t resumed_from = 0;
    double seconds = 0;
    NamedTensors trained;        // the projector's tensors, also set in the model
};

// Throws ps::Error for a model without image tokens in its language tower or without projector
// tensors, and Cancelled when `job` is cancelled (the state file keeps the last saved step).
ProjectorTrainingResult train_projector(Vlm& model, const LabelledImages& train, const ProjectorTrainingOptions& opt,
                                        const JobControl& job);

}  // namespace ps
