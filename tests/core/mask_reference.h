// Reference masks for the pruning tests: plain stable sorts of a row, the whole matrix or each
// group of M columns, marking the first k entries (true = pruned), written without core/prune.
#pragma once
#include <cmath>

#include <ATen/ATen.h>

namespace ps_test {

inline int64_t floor_count(double s, int64_t n) { return static_cast<int64_t>(std::floor(s * static_cast<double>(n))); }

// Reference: sort each row on its own and mark its first k entries.
inline at::Tensor reference_row(const at::Tensor& scores, double s) {
    at::Tensor mask = at::zeros(scores.sizes(), at::kBool);
    const int64_t k = floor_count(s, scores.size(1));
    for (int64_t i = 0; i < scores.size(0); ++i) {
        const at::Tensor order = at::argsort(scores[i], /*stable=*/true);
        for (int64_t j = 0; j < k; ++j) mask[i][order[j].item<int64_t>()] = true;
    }
    return mask;
}

// Reference: sort the whole matrix and mark its first k entries.
inline at::Tensor reference_matrix(const at::Tensor& scores, double s) {
    at::Tensor flat = at::zeros({scores.numel()}, at::kBool);
    const int64_t k = floor_count(s, scores.numel());
    const at::Tensor order = at::argsort(scores.reshape({-1}), /*stable=*/true);
    for (int64_t j = 0; j < k; ++j) flat[order[j].item<int64_t>()] = true;
    return flat.view(scores.sizes());
}

// Reference: in each row, sort each group of m consecutive columns and mark its first n.
inline at::Tensor reference_nm(const at::Tensor& scores, int n, int m) {
    at::Tensor mask = at::zeros(scores.sizes(), at::kBool);
    for (int64_t i = 0; i < scores.size(0); ++i)
        for (int64_t g = 0; g < scores.size(1); g += m) {
            const at::Tensor order = at::argsort(scores[i].slice(0, g, g + m), /*stable=*/true);
            for (int j = 0; j < n; ++j) mask[i][g + order[j].item<int64_t>()] = true;
        }
    return mask;
}

}  // namespace ps_test
