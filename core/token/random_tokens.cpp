#include "core/token/token_selection.h"

namespace ps {

at::Tensor random_tokens(int64_t n, int64_t k, at::Generator& g) {
    return std::get<0>(at::randperm(n, g, at::TensorOptions().dtype(at::kLong)).slice(0, 0, std::min(k, n)).sort());
}

}  // namespace ps
