// One optimiser step of recovery training as it is logged and shown live: the loss and its parts,
// the learning rate, and the zero-shot accuracy when the step was evaluated. Torch-free, so the
// GUI can draw the curves while training runs.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

namespace ps {

struct RecoveryStepLog {
    int64_t step = 0;
    double loss = 0, task = 0, kl = 0, hidden = 0, lr = 0;
};

// Called on the training thread after every step; `top1` is set on the steps that were evaluated.
using RecoveryStepFn = std::function<void(const RecoveryStepLog& step, std::optional<double> top1)>;

}  // namespace ps
