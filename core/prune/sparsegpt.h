// SparseGPT (Frantar & Alistarh 2023): prune one Linear weight to a target sparsity or N:M pattern
// and update the weights it keeps so the layer's output on the calibration inputs changes least.
#pragma once
#include <cstdint>

#include <ATen/ATen.h>

#include "core/prune/pattern.h"

namespace ps {

struct SparseGptOptions {
    int64_t blocksize = 128;  // columns per block; for N:M a multiple of M
    double percdamp = 0.01;   // H += percdamp * mean(diag H) * I before inverting
};

struct PruneOutcome {
    at::Tensor weight;  // the updated weight, same shape/dtype/device as the input
    at::Tensor mask;    // bool, true = pruned (zero in weight)
};

// SparseGPT on one Linear weight [out, in] with its Hessian [in, in] (HessianAccumulator): dead
// columns (H_ii == 0) zeroed, damping percdamp * mean(diag H), upper Cholesky U of H^-1, columns in
// blocks of `blocksize` with the unstructured mask chosen once per block over the whole rows x block
// (score w^2 / U_ii^2; the block's k lowest scores with cumulative k = floor(s*rows*i2) -
// floor(s*rows*i1), so the matrix ends with exactly floor(s*rows*cols) pruned entries where the
// published code prunes one more per block), N:M masks chosen at each M-column boundary per row, OBS
// error feedback within the block and the lazy update of the remaining columns after it.
// Computation in float32 on the weight's device. For N:M `sparsity` is ignored. Dead columns are
// zero in the result but marked in the mask only where the selection picked them. Throws ps::Error
// for invalid inputs (before any work) and when H is not positive definite after dampening.
// `hessian` is not written, unless `overwrite_hessian`: then a float32 contiguous one on the weight's
// device is dampened and factored in its own memory instead of in a copy (an [in, in] matrix less).
PruneOutcome sparsegpt_prune(const at::Tensor& weight, const at::Tensor& hessian, double sparsity,
                             const SparsityPattern& pattern, const SparseGptOptions& opt = {},
                             bool overwrite_hessian = false);

}  // namespace ps
