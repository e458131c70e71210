#include "core/prune/gradients.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/calibration_loss.h"

namespace ps {

std::map<std::string, at::Tensor> summed_gradients(Vlm& model, const std::vector<std::string>& weight_names,
                                                   const std::vector<VlmInputs>& calibration, const JobControl& job) {
    WeightStore& w = model.weights();
    for (const std::string& name : weight_names)
        if (!w.has(name)) throw Error(name, "no such tensor in " + w.checkpoint().dir());
    struct Saved {
        std::string name;
        bool overridden;
        at::Tensor before;
    };
    std::vector<Saved> saved;
    std::vector<at::Tensor> params;
    std::map<std::string, at::Tensor> sums;
    at::AutoGradMode grad_mode(true);
    auto restore = [&] {
        for (const Saved& s : saved) {
            if (s.overridden) w.set(s.name, s.before);
            else w.unset(s.name);
        }
    };
    try {
        for (const std::string& name : weight_names) {
            const bool overridden = w.overridden(name);
            const at::Tensor before = w.get(name);
            saved.push_back({name, overridden, before});
            at::Tensor p = before.detach().requires_grad_(true);
            w.set(name, p);
            params.push_back(p);
        }
        for (size_t b = 0; b < calibration.size(); ++b) {
            calibration_loss(model, calibration[b]).backward();
            for (size_t i = 0; i < params.size(); ++i) {
                at::Tensor& grad = params[i].mutable_grad();
                const at::Tensor g = grad.defined() ? grad.to(at::kFloat) : at::zeros_like(params[i], at::kFloat);
                at::Tensor& total = sums[weight_names[i]];
                total = total.defined() ? total.add_(g) : g.clone();
                grad = at::Tensor();
            }
            job.check("gradients");
            job.report("gradients", static_cast<int64_t>(b) + 1, static_cast<int64_t>(calibration.size()), "");
        }
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return sums;
}

}  // namespace ps
