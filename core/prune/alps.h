// ALPS (Meng et al., "ALPS: Improved Optimization for Highly Sparse One-Shot Pruning for Large
// Language Models", NeurIPS 2024): the layer-wise problem min ‖X·Wᵀ − X·Ŵᵀ‖² with Ŵ sparse solved by
// ADMM on the normalised Gram matrix (columns scaled by sqrt(diag H) after a ridge of
// percdamp·mean(diag H)), ρ raised as the support settles (×1.3 / ×1.2 / ×1.1 by how much of it
// changed in the last `update_every` steps, lowered ×1/5 while it never moved), then the kept
// weights refit by conjugate gradients on the final support. The support is chosen as every method
// chooses (the lowest squares of the iterate in the comparison group, or N:M), so exact counts hold.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/ATen.h>

#include "core/prune/mask.h"
#include "core/prune/pattern.h"
#include "core/prune/sparsegpt.h"

namespace ps {

struct AlpsOptions {
    double rho = 0.1;              // the initial penalty
    int64_t iterations = 300;      // ADMM steps at most
    int64_t update_every = 3;      // steps between penalty updates
    int64_t settle_after = 30;     // from this step on, stop once under 0.03 % of the support changes
    int64_t cg_iterations = 10;    // conjugate-gradient steps of the refit
    double percdamp = 0.01;        // ridge, as a fraction of the Gram diagonal's mean
};

// The pruned weight [out, in] (the weight's dtype and device) and its mask (true = pruned) from the
// Gram matrix `gram` [in, in] of the Linear's inputs (any positive scale). Computed in float64.
PruneOutcome alps_prune(const at::Tensor& weight, const at::Tensor& gram, double sparsity, const SparsityPattern& pattern,
                        CompareGroup group, const AlpsOptions& options, const std::string& tensor_name);

}  // namespace ps
