// A short recovery Plan for the recovery-run tests: Wanda 60 % (16 calibration images), then six
// SparseLoRA steps of batch 32 on 1 % of the training data, the training state saved every 2 steps
// and zero-shot accuracy scored every 3 on 100 test images.
#pragma once
#include <cstdint>
#include <string>

#include "core/job/plan.h"

namespace ps_test {

inline ps::Plan short_recovery_plan(const std::string& model, uint64_t seed) {
    ps::Plan p;
    p.model = model;
    p.method = "wanda";
    p.sparsity = 0.6;
    p.calibration.samples = 16;
    p.seed = seed;
    ps::RecoveryOptions& r = p.recovery;
    r.data_fraction = 0.01;
    r.batch_size = 32;
    r.max_steps = 6;
    r.checkpoint_every = 2;
    r.eval_every = 3;
    r.eval_samples = 100;
    return p;
}

}  // namespace ps_test
