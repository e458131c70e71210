// Which entries of a weight matrix to prune, given per-entry scores (lower = less important), for
// every pruning method: the comparison group and the sparsity pattern decide among which the lowest go.
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "core/prune/pattern.h"

namespace ps {

// Among which entries the lowest scores are taken (unstructured only): each output row (Wanda's LLM
// default) or the whole matrix (magnitude pruning, the ViT variant of Wanda in RESSA).
enum class CompareGroup { Row, Matrix };

CompareGroup parse_compare_group(const std::string& s);  // "row" | "matrix"
std::string compare_group_name(CompareGroup group);      // the inverse of parse_compare_group

// Boolean mask shaped like `scores` ([rows, cols], on its device), true = pruned.
// Unstructured: exactly floor(sparsity * cols) entries per row (Row) or floor(sparsity * numel) in the
// matrix (Matrix), those with the lowest scores; ties go to the lower (row-major) index first.
// N:M: in each row, in each group of M consecutive columns, the N lowest scores (ties as above);
// `sparsity` and `group` then play no part, but `sparsity` is still validated.
// Checks the sparsity, the pattern against cols, and the scores (2-d, floating point, no NaN) before
// any work; errors name `tensor_name`.
at::Tensor select_pruned(const at::Tensor& scores, double sparsity, const SparsityPattern& pattern, CompareGroup group,
                         const std::string& tensor_name);

// Marks, along the last dimension of `scores` (floating point, no NaN), the `k` lowest entries per
// slice, ties to the lower index first: the first k of a stable ascending sort, selected in linear
// time. Bool, shaped like `scores`.
at::Tensor lowest_k(const at::Tensor& scores, int64_t k);

// `weight` with the entries `mask` marks set to zero, as weight.masked_fill(mask, 0) gives it, in one
// pass on the CPU for float32 (a new tensor; `weight` is not changed).
at::Tensor apply_mask(const at::Tensor& weight, const at::Tensor& mask);

// The number of entries that are not zero, as count_nonzero gives it, in one pass on the CPU for
// float32 (NaN counts, -0 does not).
int64_t nonzero_count(const at::Tensor& t);

// Achieved sparsity: for a bool mask the fraction of true (pruned) entries, for any other tensor (a
// weight) the fraction of exact zeros. 0 for an empty tensor.
double mask_sparsity(const at::Tensor& mask);

}  // namespace ps
