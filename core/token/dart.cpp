#include "core/token/token_selection.h"

#include <limits>

namespace ps {

at::Tensor dart_tokens(const at::Tensor& x, int64_t k, int64_t pivots) {
    const int64_t n = x.size(0);
    if (k >= n) return at::arange(n, at::TensorOptions().dtype(at::kLong));
    const at::Tensor f = x.to(at::kCPU, at::kFloat);
    const at::Tensor norms = f.norm(2, {1});
    const at::Tensor pivot = std::get<1>(norms.topk(std::min(pivots, k)));
    const at::Tensor unit = f / norms.clamp_min(1e-12).unsqueeze(1);
    const at::Tensor duplication = unit.matmul(unit.index_select(0, pivot).t()).amax(1).index_fill(0, pivot, std::numeric_limits<float>::infinity());
    const at::Tensor rest = std::get<1>(duplication.topk(k - pivot.numel(), 0, /*largest=*/false));
    return std::get<0>(at::cat({pivot, rest}).sort());
}

}  // namespace ps
