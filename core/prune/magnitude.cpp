#include "core/prune/magnitude.h"

#include <sstream>

#include <ATen/core/grad_mode.h>

#include "core/error.h"

namespace ps {

at::Tensor magnitude_scores(const at::Tensor& weight, const std::string& tensor_name) {
    if (!weight.defined()) throw Error(tensor_name, "weight is undefined");
    if (weight.dim() != 2) {
        std::ostringstream os;
        os << "weight must be 2-d [out, in], got shape " << weight.sizes();
        throw Error(tensor_name, os.str());
    }
    at::NoGradGuard no_grad;
    return weight.detach().to(at::kFloat).abs();
}

}  // namespace ps
