#include "core/train/adamw.h"

#include <cmath>
#include <map>

#include <ATen/core/grad_mode.h>

#include "core/error.h"

namespace ps {

AdamW::AdamW(NamedTensors params, AdamWOptions opt) : params_(std::move(params)), opt_(opt) {
    for (const auto& [name, p] : params_) {
        if (!p.requires_grad()) throw Error(name, "an optimised tensor must require grad");
        exp_avg_.push_back(at::zeros_like(p));
        exp_avg_sq_.push_back(at::zeros_like(p));
    }
}

void AdamW::step(double lr) {
    at::NoGradGuard no_grad;
    ++steps_;
    const double c1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(steps_));
    for (size_t i = 0; i < params_.size(); ++i) {
        at::Tensor p = params_[i].second;
        at::Tensor g = p.mutable_grad();
        if (!g.defined()) continue;
        if (p.dim() >= 2 && opt_.weight_decay > 0) p.mul_(1.0 - lr * opt_.weight_decay);
        exp_avg_[i].mul_(opt_.beta1).add_(g, 1.0 - opt_.beta1);
        exp_avg_sq_[i].mul_(opt_.beta2).addcmul_(g, g, 1.0 - opt_.beta2);
        at::Tensor denom = (exp_avg_sq_[i] / c2).sqrt_().add_(opt_.eps);
        p.addcdiv_(exp_avg_[i], denom, -lr / c1);
        g.zero_();
    }
}

NamedTensors AdamW::state() const {
    NamedTensors out;
    for (size_t i = 0; i < params_.size(); ++i) {
        out.emplace_back(params_[i].first + ".exp_avg", exp_avg_[i]);
        out.emplace_back(params_[i].first + ".exp_avg_sq", exp_avg_sq_[i]);
    }
    return out;
}

void AdamW::restore(const NamedTensors& state, int64_t steps) {
    std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
    auto take = [&](const std::string& name, const at::Tensor& like) {
        auto it = by_name.find(name);
        if (it == by_name.end()) throw Error(name, "missing from the optimizer state");
        if (it->second.sizes() != like.sizes()) throw Error(name, "optimizer state has the wrong shape");
        return it->second.to(like.device(), like.scalar_type()).clone();
    };
    for (size_t i = 0; i < params_.size(); ++i) {
        exp_avg_[i] = take(params_[i].first + ".exp_avg", params_[i].second);
        exp_avg_sq_[i] = take(params_[i].first + ".exp_avg_sq", params_[i].second);
    }
    steps_ = steps;
}

double cosine_lr(int64_t step, int64_t total, int64_t warmup, double peak, double floor) {
    if (warmup > 0 && step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
    const double t = std::min(1.0, static_cast<double>(step - warmup) / span);
    return floor + 0.5 * (peak - floor) * (1.0 + std::cos(M_PI * t));
}

}  // namespace ps
