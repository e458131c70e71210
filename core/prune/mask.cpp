#include "core/prune/mask.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {
namespace {

// An unsigned key ordered as the float (not NaN) it comes from, -0 and +0 alike: positive floats
// with the sign bit set, negative ones with every bit flipped.
inline uint32_t sort_key(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u << 1) == 0) u = 0;  // -0 -> +0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Slices at least this long find their k-th key by a histogram of the keys' top bits first; shorter
// ones (N:M groups) by std::nth_element alone.
constexpr int64_t kRadixMinLength = 256;
constexpr int kTopBits = 11;

// Marks the k lowest of n floats at `in` into `out`, ties to the lower index first (0 < k < n).
// The k-th smallest key is found in the bin of a histogram over the keys' top 11 bits where the
// count passes k, by nth_element over that bin's keys alone (copied into `work`, which is resized to
// fit): on weight scores about three times as fast as nth_element over a copy of the whole slice,
// and the copy is only the bin's. Keys are computed afresh in each pass rather than stored.
void mark_lowest(const float* in, bool* out, int64_t n, int64_t k, std::vector<uint32_t>& work) {
    int64_t below = 0;  // keys below those in `work`; then below the k-th
    if (n < kRadixMinLength) {  // the whole slice is the one bin
        work.resize(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) work[j] = sort_key(in[j]);
    } else {
        constexpr int kShift = 32 - kTopBits;
        std::array<int64_t, (1u << kTopBits)> hist{};
        for (int64_t j = 0; j < n; ++j) ++hist[sort_key(in[j]) >> kShift];
        uint32_t bin = 0;
        while (below + hist[bin] < k) below += hist[bin++];  // the keys in lower bins
        work.resize(static_cast<size_t>(hist[bin]));
        for (int64_t j = 0, m = 0; j < n; ++j) {
            const uint32_t key = sort_key(in[j]);
            if ((key >> kShift) == bin) work[m++] = key;
        }
    }
    const int64_t r = k - below;  // the k-th is the bin's r-th smallest
    std::nth_element(work.begin(), work.begin() + (r - 1), work.end());
    const uint32_t kth = work[static_cast<size_t>(r - 1)];
    for (int64_t j = 0; j < r - 1; ++j) below += work[j] < kth;  // the bin's keys below the k-th sit before it
    int64_t ties = k - below;  // how many entries equal to the k-th are wanted, in index order
    for (int64_t j = 0; j < n; ++j) {
        const uint32_t key = sort_key(in[j]);
        const bool tie = key == kth && ties > 0;
        out[j] = key < kth || tie;
        ties -= tie;
    }
}

// lowest_k for float32 on the CPU: mark_lowest per slice, slices in parallel. Several times faster
// than the tensor-op route.
at::Tensor lowest_k_cpu(const at::Tensor& scores, int64_t k) {
    const int64_t n = scores.size(-1);
    const at::Tensor rows = scores.reshape({-1, n}).contiguous();
    at::Tensor mask = at::empty(rows.sizes(), rows.options().dtype(at::kBool));
    const float* src = rows.data_ptr<float>();
    bool* dst = mask.data_ptr<bool>();
    at::parallel_for(0, rows.size(0), std::max<int64_t>(1, 32768 / n), [&](int64_t begin, int64_t end) {
        std::vector<uint32_t> work;
        for (int64_t r = begin; r < end; ++r) mark_lowest(src + r * n, dst + r * n, n, k, work);
    });
    return mask.reshape(scores.sizes());
}

// Elements per task of the elementwise CPU loops below.
constexpr int64_t kGrain = int64_t(1) << 16;

bool cpu_float_contiguous(const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous();
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

at::Tensor apply_mask(const at::Tensor& weight, const at::Tensor& mask) {
    if (!cpu_float_contiguous(weight) || mask.scalar_type() != at::kBool || mask.sizes() != weight.sizes() ||
        !mask.device().is_cpu() || !mask.is_contiguous())
        return weight.masked_fill(mask, 0);
    at::Tensor out = at::empty_like(weight);
    // Bit-wise: a kept entry's bits ANDed with all ones, a pruned one's with zero (+0.0f).
    const auto* src = reinterpret_cast<const uint32_t*>(weight.data_ptr<float>());
    const bool* pruned = mask.data_ptr<bool>();
    auto* dst = reinterpret_cast<uint32_t*>(out.data_ptr<float>());
    at::parallel_for(0, weight.numel(), kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dst[i] = src[i] & (static_cast<uint32_t>(pruned[i]) - 1u);
    });
    return out;
}

int64_t nonzero_count(const at::Tensor& t) {
    if (!cpu_float_contiguous(t)) return t.count_nonzero().item<int64_t>();
    const auto* bits = reinterpret_cast<const uint32_t*>(t.data_ptr<float>());
    return at::parallel_reduce(
        0, t.numel(), kGrain, int64_t(0),
        [&](int64_t begin, int64_t end, int64_t sum) {
            for (int64_t i = begin; i < end; ++i) sum += (bits[i] << 1) != 0;  // -0 and +0 are zero
            return sum;
        },
        std::plus<int64_t>());
}

double mask_sparsity(const at::Tensor& mask) {
    if (!mask.defined() || mask.numel() == 0) return 0.0;
    const int64_t hits = mask.scalar_type() == at::kBool ? mask.sum().item<int64_t>() : mask.numel() - nonzero_count(mask);
    return static_cast<double>(hits) / static_cast<double>(mask.numel());
}

}  // namespace ps
