#include "core/prune/reconstruction_error.h"

#include <algorithm>
#include <cmath>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

InputRowSample::InputRowSample(int64_t columns, int64_t batches, std::string name, int64_t max_rows)
    : columns_(columns), batches_(std::max<int64_t>(1, batches)), max_rows_(max_rows), name_(std::move(name)) {
    if (columns <= 0 || max_rows <= 0)
        throw Error(name_, "columns and the row budget must be positive, got " + std::to_string(columns) + " and " +
                               std::to_string(max_rows));
}

void InputRowSample::add(const at::Tensor& x) {
    if (!x.defined() || x.dim() < 1 || x.size(-1) != columns_)
        throw Error(name_, "input of shape " + (x.defined() ? shape_string(x) : std::string("undefined")) +
                               " does not end in " + std::to_string(columns_) + " features");
    if (!at::isFloatingType(x.scalar_type())) throw Error(name_, "input must be floating point");
    at::NoGradGuard no_grad;
    const at::Tensor flat = x.detach().reshape({-1, columns_});
    const int64_t n = flat.size(0);
    rows_seen_ += n;
    if (n == 0) return;
    const int64_t stride = std::max<int64_t>(1, (n * batches_ + max_rows_ - 1) / max_rows_);
    parts_.push_back(flat.slice(0, 0, n, stride).to(at::kFloat, /*non_blocking=*/false, /*copy=*/true));
    rows_kept_ += parts_.back().size(0);
}

void InputRowSample::merge(const InputRowSample& later) {
    if (later.columns_ != columns_)
        throw Error(name_, "cannot merge rows of " + std::to_string(later.columns_) + " columns into " + std::to_string(columns_));
    parts_.insert(parts_.end(), later.parts_.begin(), later.parts_.end());
    rows_seen_ += later.rows_seen_;
    rows_kept_ += later.rows_kept_;
}

at::Tensor InputRowSample::matrix() const {
    if (parts_.empty()) throw Error(name_, "no calibration rows were added");
    return parts_.size() == 1 ? parts_.front() : at::cat(parts_);
}

double InputRowSample::relative_error(const at::Tensor& weight, const at::Tensor& pruned) const {
    if (weight.dim() != 2 || weight.sizes() != pruned.sizes() || weight.size(1) != columns_)
        throw Error(name_, "weights of shape " + shape_string(weight) + " and " + shape_string(pruned) +
                               " do not both take " + std::to_string(columns_) + " inputs");
    at::NoGradGuard no_grad;
    // From the two outputs, so no weight-sized temporary is made: two rows × out float matrices at a time.
    const at::Tensor x = matrix();
    const at::Tensor y = at::matmul(x, weight.to(x.device(), at::kFloat).t());
    const double base = y.square().sum(at::kDouble).item<double>();
    at::Tensor diff = at::matmul(x, pruned.to(x.device(), at::kFloat).t());
    diff.sub_(y);  // W'X - WX in place: the negation of WX - W'X, exactly
    const double err = diff.square_().sum(at::kDouble).item<double>();
    return base > 0 ? std::sqrt(err / base) : 0.0;
}

}  // namespace ps
