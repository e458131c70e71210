#include "core/prune/mask.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {
namespace {

// lowest_k for float32 on the CPU: per slice the k-th smallest value by std::nth_element on a copy,
// then one pass marking the entries below it and, in index order, as many entries equal to it as
// are still wanted; slices in parallel. Several times faster than the tensor-op route.
at::Tensor lowest_k_cpu(const at::Tensor& scores, int64_t k) {
    const int64_t n = scores.size(-1);
    const at::Tensor rows = scores.reshape({-1, n}).contiguous();
    at::Tensor mask = at::empty(rows.sizes(), rows.options().dtype(at::kBool));
    const float* src = rows.data_ptr<float>();
    bool* dst = mask.data_ptr<bool>();
    at::parallel_for(0, rows.size(0), std::max<int64_t>(1, 32768 / n), [&](int64_t begin, int64_t end) {
        std::vector<float> copy(static_cast<size_t>(n));
        for (int64_t r = begin; r < end; ++r) {
            const float* in = src + r * n;
            bool* out = dst + r * n;
            std::copy(in, in + n, copy.begin());
            std::nth_element(copy.begin(), copy.begin() + (k - 1), copy.end());
            const float kth = copy[static_cast<size_t>(k - 1)];
            int64_t ties = k;  // less the entries below the k-th value: how many equal to it are wanted
            for (int64_t j = 0; j < n; ++j) ties -= in[j] < kth;
            for (int64_t j = 0; j < n; ++j) {
                const bool tie = ties > 0 && in[j] == kth;
                out[j] = in[j] < kth || tie;
                ties -= tie;
            }
        }
    });
    return mask.reshape(scores.sizes());
}

}  // namespace

at::Tensor lowest_k(const at::Tensor& scores, int64_t k) {
    if (k <= 0 || scores.numel() == 0) return at::zeros(scores.sizes(), scores.options().dtype(at::kBool));
    if (k >= scores.size(-1)) return at::ones(scores.sizes(), scores.options().dtype(at::kBool));
    // Everything below the k-th smallest value, then as many of the entries equal to it as are
    // still wanted, in index order: the first k of a stable ascending sort, found in linear time.
    if (scores.device().is_cpu() && scores.scalar_type() == at::kFloat) return lowest_k_cpu(scores, k);
    const at::Tensor kth = std::get<0>(scores.kthvalue(k, -1, /*keepdim=*/true));
    const at::Tensor below = scores < kth, tied = scores == kth;
    const at::Tensor wanted = k - below.sum(-1, /*keepdim=*/true);
    return below.logical_or(tied.logical_and(tied.cumsum(-1) <= wanted));
}

CompareGroup parse_compare_group(const std::string& s) {
    if (s == "row") return CompareGroup::Row;
    if (s == "matrix") return CompareGroup::Matrix;
    throw Error("compare group", "unknown value '" + s + "' (expected row or matrix)");
}

std::string compare_group_name(CompareGroup group) { return group == CompareGroup::Row ? "row" : "matrix"; }

at::Tensor select_pruned(const at::Tensor& scores, double sparsity, const SparsityPattern& pattern, CompareGroup group,
                         const std::string& tensor_name) {
    check_sparsity(sparsity, tensor_name);
    if (!scores.defined()) throw Error(tensor_name, "scores are undefined");
    if (scores.dim() != 2)
        throw Error(tensor_name, "scores must be 2-d [out, in], got shape " + shape_string(scores));
    if (!at::isFloatingType(scores.scalar_type())) throw Error(tensor_name, "scores must be floating point");
    const int64_t rows = scores.size(0), cols = scores.size(1);
    check_pattern(pattern, cols, tensor_name);
    if (scores.numel() > 0 && scores.isnan().any().item<bool>()) throw Error(tensor_name, "scores contain NaN");

    const at::Tensor s = scores.detach();
    if (pattern.is_nm()) {
        const at::Tensor groups = s.reshape({rows, cols / pattern.m, pattern.m});
        return lowest_k(groups, pattern.n).reshape({rows, cols});
    }
    if (group == CompareGroup::Row) {
        const auto k = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(cols)));
        return lowest_k(s, k);
    }
    const auto k = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(scores.numel())));
    return lowest_k(s.reshape({-1}), k).reshape({rows, cols});
}

double mask_sparsity(const at::Tensor& mask) {
    if (!mask.defined() || mask.numel() == 0) return 0.0;
    const at::Tensor hits = mask.scalar_type() == at::kBool ? mask : mask.eq(0);
    return static_cast<double>(hits.sum().item<int64_t>()) / static_cast<double>(mask.numel());
}

}  // namespace ps
