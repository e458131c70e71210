#include "core/prune/hessian.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

HessianAccumulator::HessianAccumulator(int64_t columns, at::Device device) : columns_(columns) {
    if (columns < 1) throw Error("hessian", "column count " + std::to_string(columns) + " is not positive");
    h_ = at::zeros({columns, columns}, at::TensorOptions(at::kFloat).device(device));
}

void HessianAccumulator::add(const at::Tensor& x) {
    if (!x.defined()) throw Error("hessian input", "tensor is undefined");
    if (!at::isFloatingType(x.scalar_type()))
        throw Error("hessian input", std::string("dtype ") + c10::toString(x.scalar_type()) + " is not a float type");
    if (x.dim() < 2 || x.size(-1) != columns_)
        throw Error("hessian input", "shape " + shape_string(x) + " is not [..., " + std::to_string(columns_) + "]");
    const int64_t batch = x.dim() == 2 ? 1 : x.size(0);
    if (batch == 0 || x.numel() == 0) return;  // nothing seen; the reference would divide 0 by 0 here
    const at::Tensor rows = x.detach().reshape({-1, columns_}).to(h_.device(), at::kFloat);
    h_.mul_(static_cast<double>(samples_) / static_cast<double>(samples_ + batch));
    samples_ += batch;
    const at::Tensor scaled = rows.mul(std::sqrt(2.0 / static_cast<double>(samples_)));
    h_.addmm_(scaled.t(), scaled);
}

}  // namespace ps
