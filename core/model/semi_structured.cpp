#include "core/model/semi_structured.h"

#include <map>
#include <memory>
#include <mutex>

#include <ATen/cuda/CUDAConfig.h>

#include "core/model/weights.h"
#include "core/runtime.h"

namespace ps {

namespace {

// The kernel's multiple for both sides of the weight and for the rows of the dense input
// (PyTorch's constraints for cuSPARSELt: 16 for half types, 8 for float32, 32 for int8).
int64_t multiple(at::ScalarType t) { return t == at::kFloat ? 8 : 16; }

}  // namespace

std::string semi_structured_refusal(const SemiStructuredQuery& q) {
    if (!q.cuda) return "not on a CUDA device";
    if (!q.kernels) return "this torch was built without cuSPARSELt";
    if (q.compute_major < 8) return "the GPU's compute capability is below 8.0";
    if (q.dtype != at::kHalf && q.dtype != at::kBFloat16 && q.dtype != at::kFloat)
        return std::string("dtype ") + c10::toString(q.dtype) + " has no semi-structured kernel";
    const int64_t m = multiple(q.dtype);
    if (q.out % m != 0 || q.in % m != 0 || q.out < 2 * m || q.in < 2 * m)
        return "shape [" + std::to_string(q.out) + ", " + std::to_string(q.in) + "] is not a multiple of " + std::to_string(m) +
               " at least " + std::to_string(2 * m) + " wide";
    if (!q.two_four) return "the weight is not 2:4 sparse";
    return {};
}

bool is_two_four(const at::Tensor& weight) {
    if (weight.dim() != 2 || weight.size(1) % 4 != 0 || weight.numel() == 0) return false;
    return (weight.ne(0).reshape({weight.size(0), -1, 4}).sum(-1) <= 2).all().item<bool>();
}

SemiStructuredQuery semi_structured_query(const at::Tensor& weight) {
    SemiStructuredQuery q;
    q.cuda = weight.is_cuda();
    q.kernels = AT_CUSPARSELT_ENABLED();
    q.dtype = weight.scalar_type();
    q.out = weight.dim() == 2 ? weight.size(0) : 0;
    q.in = weight.dim() == 2 ? weight.size(1) : 0;
    if (q.cuda) q.compute_major = cuda_compute_major(weight.device().has_index() ? weight.device().index() : 0);
    q.two_four = is_two_four(weight);
    return q;
}

at::Tensor semi_structured_linear(const at::Tensor& compressed, const at::Tensor& x, const at::Tensor& bias, int64_t out) {
    const int64_t in = x.size(-1);
    at::Tensor rows = x.reshape({-1, in});
    const int64_t n = rows.size(0), m = multiple(x.scalar_type()), padded = (n + m - 1) / m * m;
    if (padded != n) rows = at::constant_pad_nd(rows, {0, 0, 0, padded - n});
    // W·Xᵀ with the result transposed in the kernel: [padded, out].
    at::Tensor y = at::_cslt_sparse_mm(compressed, rows.t(), bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt,
                                       std::nullopt, std::nullopt, /*transpose_result=*/true);
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
    shape.push_back(out);
    return y.slice(0, 0, n).reshape(shape);
}

bool use_semi_structured_kernels(WeightStore& store) {
    if (!store.device().is_cuda() || store.streaming() || store.has_linear_adapter()) return false;
    struct Entry {
        at::Tensor weight;      // the weight it was decided for
        at::Tensor compressed;  // undefined: dense
    };
    auto cache = std::make_shared<std::map<std::string, Entry>>();
    auto mu = std::make_shared<std::mutex>();
    store.set_linear_adapter([cache, mu](const std::string& name, const at::Tensor& x, const at::Tensor& weight,
                                         const at::Tensor& bias) -> at::Tensor {
        at::Tensor compressed;
        {
            const std::lock_guard<std::mutex> lock(*mu);
            Entry& e = (*cache)[name];
            if (!e.weight.defined() || !e.weight.is_same(weight)) {
                e.weight = weight;
                e.compressed = semi_structured_refusal(semi_structured_query(weight)).empty() ? at::_cslt_compress(weight) : at::Tensor();
            }
            compressed = e.compressed;
        }
        if (!compressed.defined() || x.scalar_type() != weight.scalar_type()) return {};
        return semi_structured_linear(compressed, x, bias, weight.size(0));
    });
    return true;
}

}  // namespace ps
