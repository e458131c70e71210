// The largest absolute difference of two tensors, compared in double on the CPU: the figure the
// parity checks of the pruning and export tests print and bound.
#pragma once
#include <ATen/ATen.h>

namespace ps_test {

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

}  // namespace ps_test
