// 2:4-sparse Linears through PyTorch's semi-structured sparse kernels (cuSPARSELt) on CUDA, where
// they are faster than the dense product: a weight with at most two nonzeros in every group of four
// consecutive inputs is compressed once and multiplied by the compressed kernel. Everywhere else —
// the CPU, GPUs before compute capability 8.0, float64, shapes the kernel does not take, weights
// that are not 2:4, a torch built without cuSPARSELt — the plain dense product runs.
#pragma once
#include <string>

#include <ATen/ATen.h>

namespace ps {

class WeightStore;

// What decides whether one Linear can take the kernel; plain values, so the choice is testable
// without a GPU.
struct SemiStructuredQuery {
    bool cuda = false;
    int compute_major = 0;  // the device's compute capability (8 for Ampere)
    bool kernels = false;   // torch was built with cuSPARSELt
    at::ScalarType dtype = at::kFloat;
    int64_t out = 0, in = 0;
    bool two_four = false;  // is_two_four(weight)
};

// Why the Linear stays dense; empty when it takes the kernel.
std::string semi_structured_refusal(const SemiStructuredQuery& q);

// Whether every group of four consecutive entries along each row holds at most two nonzeros (the
// row length a multiple of four).
bool is_two_four(const at::Tensor& weight);

// The query for `weight` on its device, with this process's torch and GPU.
SemiStructuredQuery semi_structured_query(const at::Tensor& weight);

// y = x·Wᵀ (+ bias) with W given compressed by at::_cslt_compress; x [..., in], its rows padded to
// the kernel's multiple and the padding dropped from the result.
at::Tensor semi_structured_linear(const at::Tensor& compressed, const at::Tensor& x, const at::Tensor& bias, int64_t out);

// Sends `store`'s Linears through the kernel where semi_structured_refusal allows (decided, and the
// weight compressed, at each Linear's first use and again whenever its weight changes), as its
// linear adapter. Nothing is installed on a CPU store, a streamed one or one with an adapter
// already (recovery's); returns whether it was.
bool use_semi_structured_kernels(WeightStore& store);

}  // namespace ps
