#include "core/prune/mask.h"

#include <cmath>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

at::Tensor lowest_k(const at::Tensor& scores, int64_t k) {
    if (k <= 0 || scores.numel() == 0) return at::zeros(scores.sizes(), scores.options().dtype(at::kBool));
    if (k >= scores.size(-1)) return at::ones(scores.sizes(), scores.options().dtype(at::kBool));
    // Everything below the k-th smallest value, then as many of the entries equal to it as are
    // still wanted, in index order: the first k of a stable ascending sort, found in linear time.
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
