#include "core/prune/magnitude.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

at::Tensor magnitude_scores(const at::Tensor& weight, const std::string& tensor_name) {
    if (!weight.defined()) throw Error(tensor_name, "weight is undefined");
    if (weight.dim() != 2) throw Error(tensor_name, "weight must be 2-d [out, in], got shape " + shape_string(weight));
    at::NoGradGuard no_grad;
    return weight.detach().to(at::kFloat).abs();
}

}  // namespace ps
