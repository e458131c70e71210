#include "core/prune/wanda.h"

#include <algorithm>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

namespace {

// Rows of a flattened input converted to float64 at a time: bounds the temporary to about 128 MiB.
constexpr int64_t kChunkElements = int64_t(1) << 24;

}  // namespace

ColumnNormAccumulator::ColumnNormAccumulator(int64_t columns, std::string name)
    : columns_(columns), name_(std::move(name)) {
    if (columns <= 0) throw Error(name_, "the number of columns must be positive, got " + std::to_string(columns));
}

void ColumnNormAccumulator::add(const at::Tensor& x) {
    if (!x.defined()) throw Error(name_, "input is undefined");
    if (x.dim() < 1 || x.size(-1) != columns_)
        throw Error(name_, "input of shape " + shape_string(x) + " does not end in " + std::to_string(columns_) +
                               " features");
    if (!at::isFloatingType(x.scalar_type())) throw Error(name_, "input must be floating point");
    at::NoGradGuard no_grad;
    const at::Tensor flat = x.detach().reshape({-1, columns_});
    const at::Device device = sum_.defined() ? sum_.device() : flat.device();
    const int64_t tokens = flat.size(0);
    const int64_t step = std::max<int64_t>(1, kChunkElements / columns_);
    at::Tensor batch, linear;  // this batch's sums, added to the running sums at once
    for (int64_t start = 0; start < tokens; start += step) {
        at::Tensor chunk = flat.narrow(0, start, std::min(step, tokens - start)).to(device, at::kDouble, false, /*copy=*/true);
        at::Tensor part = chunk.sum(0);
        linear = linear.defined() ? linear.add_(part) : part;
        part = chunk.square_().sum(0);
        batch = batch.defined() ? batch.add_(part) : part;
    }
    if (!sum_.defined()) {
        sum_ = at::zeros({columns_}, flat.options().device(device).dtype(at::kDouble));
        linear_sum_ = at::zeros_like(sum_);
    }
    if (batch.defined()) {
        sum_.add_(batch);
        linear_sum_.add_(linear);
    }
    samples_ += x.dim() >= 3 ? x.size(0) : 1;
    tokens_ += tokens;
}

void ColumnNormAccumulator::merge(const ColumnNormAccumulator& later) {
    if (later.columns_ != columns_)
        throw Error(name_, "cannot merge sums of " + std::to_string(later.columns_) + " columns into " + std::to_string(columns_));
    if (!later.sum_.defined()) return;
    if (!sum_.defined()) {
        sum_ = at::zeros_like(later.sum_);
        linear_sum_ = at::zeros_like(later.sum_);
    }
    sum_.add_(later.sum_.to(sum_.device()));
    linear_sum_.add_(later.linear_sum_.to(sum_.device()));
    samples_ += later.samples_;
    tokens_ += later.tokens_;
}

void ColumnNormAccumulator::check_filled() const {
    if (samples_ == 0) throw Error(name_, "no calibration samples were added");
    if (!at::isfinite(sum_).all().item<bool>()) throw Error(name_, "calibration inputs contain inf or NaN");
}

at::Tensor ColumnNormAccumulator::mean_squared_norms() const {
    check_filled();
    return (sum_ / static_cast<double>(samples_)).to(at::kFloat);
}

at::Tensor ColumnNormAccumulator::mean_sums() const {
    check_filled();
    return (linear_sum_ / static_cast<double>(samples_)).to(at::kFloat);
}

at::Tensor ColumnNormAccumulator::variances() const {
    check_filled();
    const at::Tensor mean = linear_sum_ / static_cast<double>(tokens_);
    return (sum_ / static_cast<double>(tokens_) - mean * mean).clamp_min_(0).to(at::kFloat);
}

at::Tensor wanda_scores(const at::Tensor& weight, const at::Tensor& column_sq_norms, const std::string& tensor_name) {
    if (!weight.defined() || weight.dim() != 2)
        throw Error(tensor_name, "weight must be 2-d [out, in], got shape " +
                                     (weight.defined() ? shape_string(weight) : std::string("undefined")));
    if (!column_sq_norms.defined() || column_sq_norms.dim() != 1 || column_sq_norms.size(0) != weight.size(1))
        throw Error(tensor_name, "input norms of shape " +
                                     (column_sq_norms.defined() ? shape_string(column_sq_norms) : std::string("undefined")) +
                                     " do not match the weight's " + std::to_string(weight.size(1)) + " input columns");
    at::NoGradGuard no_grad;
    const at::Tensor a = column_sq_norms.detach().to(weight.device(), at::kFloat);
    if (!(a >= 0).all().item<bool>()) throw Error(tensor_name, "input norms must be non-negative and not NaN");
    return weight.detach().to(at::kFloat).abs().mul_(a.sqrt().unsqueeze(0));
}

}  // namespace ps
