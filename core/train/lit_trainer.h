// LiT-style contrastive training of a dual encoder on class-labelled images: the text tower is
// locked (its outputs for the class prompts are computed once), the vision tower, both projections
// and the logit scale are trained. Class-labelled data gives every image many equal captions, so the
// loss is InfoNCE with all prompts of the image's class as positives, in both directions.
// Seeded and resumable: the data order and augmentation derive from (seed, step) alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/data/fashion_mnist.h"
#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

struct LitOptions {
    int64_t epochs = 6;
    int64_t batch_size = 256;
    int64_t max_steps = -1;  // stop after this many steps (of the full schedule); -1: run it all
    double lr = 1e-3, min_lr = 1e-5, weight_decay = 0.05;
    int64_t warmup = 100;
    uint64_t seed = 0;
    bool augment = true;             // random horizontal flips
    std::string state_path;          // resumable training state (.safetensors); empty: none
    int64_t checkpoint_every = 100;  // steps between state writes
};

struct LitResult {
    int64_t first_step = 0;       // > 0 when resumed
    int64_t steps = 0;            // the schedule position reached
    int64_t total_steps = 0;      // the full schedule
    std::vector<double> losses;   // one per step run in this call
};

// Trains the tensors named `trainables` of `model` (set as overrides on its weights) on `data`
// with `prompts` (class-major, prompts.size() a multiple of the class count).
LitResult train_lit(Vlm& model, const std::vector<std::string>& trainables, const LabelledImages& data,
                    const std::vector<std::string>& prompts, const LitOptions& opt, const JobControl& job);

}  // namespace ps
