// AdamW (Loshchilov & Hutter) over named tensors, with decoupled weight decay on matrices only
// (biases, norms and scalars are not decayed). The state is plain named tensors so a trainer can
// write it to a safetensors checkpoint and resume bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/io/tensor_view.h"

namespace ps {

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double weight_decay = 0.05;
};

class AdamW {
public:
    // `params` are leaf tensors with requires_grad; they are updated in place.
    AdamW(NamedTensors params, AdamWOptions opt);

    // One update with learning rate `lr` from the parameters' .grad(), which it then clears.
    void step(double lr);
    int64_t steps() const { return steps_; }
    const NamedTensors& params() const { return params_; }

    // Moments as "<name>.exp_avg" / "<name>.exp_avg_sq"; restore() checks names and shapes.
    NamedTensors state() const;
    void restore(const NamedTensors& state, int64_t steps);

private:
    NamedTensors params_;
    std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
    AdamWOptions opt_;
    int64_t steps_ = 0;
};

// Linear warm-up to `peak` over `warmup` steps, then a cosine decay to `floor` at `total`.
double cosine_lr(int64_t step, int64_t total, int64_t warmup, double peak, double floor = 0.0);

}  // namespace ps
