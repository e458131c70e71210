// DSnoT (Zhang et al., "Dynamic Sparse No Training: Training-Free Fine-tuning for Sparse LLMs",
// ICLR 2024): refines an initial mask (Wanda's or magnitude's) without changing any weight value.
// Per output row, while the expected reconstruction error ε = Σ_{j pruned} W_ij·m_j (m_j: input
// feature j summed over a sample's tokens, averaged over the samples) is above a threshold, one
// pruned weight grows back and one kept weight is pruned, so every row keeps its count:
//  - grown: of the initially pruned weights not grown yet, the one with the largest c_ij / v_j^p
//    when ε > 0, the smallest when ε < 0 (c_ij = W_ij·m_j, v_j the variance of feature j);
//  - pruned (unstructured): of the initially kept weights of the helping sign (c < 0 when ε > 0,
//    c > 0 when ε < 0), the least important by the initial score; N:M: the least important initially
//    kept weight of the grown weight's group of M, and the swap only while ε keeps its initial sign.
// A row stops at its first refusal (no candidate left, or the sign rule) or after `cycles` swaps.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/ATen.h>

#include "core/prune/mask.h"
#include "core/prune/pattern.h"

namespace ps {

struct DsnotOptions {
    std::string initial = "wanda";  // the first mask: "wanda" (|W|·‖X_j‖) or "magnitude" (|W|)
    int64_t cycles = 50;            // at most this many swaps per row
    double threshold = 0.1;         // a row stops once |ε| is at most this
    double variance_power = 1.0;    // p in the growing score c / v^p (0: c alone)
};

// Per input column of a Linear's calibration inputs, as ColumnNormAccumulator keeps them: squared
// norms and sums per sample, and the variance over every token. All [in].
struct ColumnStatistics {
    at::Tensor sq_norms, sums, variances;
};

// The bool mask (true = pruned) of `weight` [out, in] at `sparsity` with `pattern`; the initial
// mask compares within `group` (each row, or the whole matrix). With cycles = 0, the initial
// method's mask. Errors name `tensor_name`.
at::Tensor dsnot_mask(const at::Tensor& weight, const ColumnStatistics& stats, double sparsity, const SparsityPattern& pattern,
                      CompareGroup group, const DsnotOptions& options, const std::string& tensor_name);

}  // namespace ps
