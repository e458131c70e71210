// The Plan's "recovery" section: adapters or weights trained after pruning on a fraction of the
// data, with the task loss and distillation from the dense model (`prunestudio-cli recover`).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct RecoveryOptions {
    std::string pruned;               // pruned checkpoint folder (with masks.safetensors); empty: prune by the Plan first
    std::string mode = "sparselora";  // sparselora | lora (plain, unmasked) | full (fixed mask) | projector
    std::map<std::string, int64_t> rank = {{"vision", 4}, {"language", 8}};  // per modality (projector 0); 0: no adapters
    double alpha = 16, dropout = 0.05;
    double task = 1.0, kl = 0.1, temperature = 1.0;  // loss weights; KL(teacher ‖ student) at temperature T
    bool t2 = false;                                 // scale the KL term by T²
    double hidden = 0.0;                             // weight of the hidden-state MSE
    std::vector<std::string> hidden_layers;          // "<tower>.<block>", e.g. "vision.3"; empty: every tower's last block
    double data_fraction = 0.05;                     // of the training data
    int64_t epochs = 1, batch_size = 64, grad_accum = 1;
    int64_t max_steps = -1;                          // stop early (the schedule still spans every epoch)
    double lr = 1e-3, min_lr = 0.0, weight_decay = 0.0;
    int64_t warmup = 0;
    int64_t eval_every = 0, eval_samples = 1000;     // zero-shot accuracy on test images every k steps (0: at the end only)
    int64_t checkpoint_every = 50;                   // steps between resumable state writes

    static RecoveryOptions read(const JsonFields& f);  // throws ps::Error naming the field
    nlohmann::json to_json() const;
};

}  // namespace ps
