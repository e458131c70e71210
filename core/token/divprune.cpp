#include "core/token/token_selection.h"

#include <limits>

namespace ps {

at::Tensor divprune_tokens(const at::Tensor& x, int64_t k) {
    const int64_t n = x.size(0);
    if (k >= n) return at::arange(n, at::TensorOptions().dtype(at::kLong));
    const at::Tensor f = x.to(at::kCPU, at::kFloat);
    const at::Tensor unit = f / f.norm(2, {1}).clamp_min(1e-12).unsqueeze(1);
    const at::Tensor distance = 1 - unit.matmul(unit.t());  // [n,n]
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<int64_t> chosen{distance.clone().fill_diagonal_(inf).amin(1).argmax().item<int64_t>()};
    at::Tensor nearest = distance[chosen[0]].clone();  // each token's distance to its nearest chosen token
    at::Tensor taken = at::zeros({n}, at::kBool);
    taken[chosen[0]] = true;
    while (static_cast<int64_t>(chosen.size()) < k) {
        const int64_t next = nearest.masked_fill(taken, -inf).argmax().item<int64_t>();
        chosen.push_back(next);
        taken[next] = true;
        nearest = at::minimum(nearest, distance[next]);
    }
    return std::get<0>(at::tensor(chosen, at::kLong).sort());
}

}  // namespace ps
