#include "core/prune/ecoflap_first_order.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/gradients.h"

namespace ps {

EcoflapScores ecoflap_first_order_scores(Vlm& model, const SparsityMap& targets,
                                         const std::vector<VlmInputs>& calibration, const JobControl& job) {
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    std::map<std::string, std::string> group_of;
    for (const LinearLayer& l : model.map().linears) group_of[l.name] = l.group;
    std::vector<std::string> weights;
    for (const auto& [name, s] : targets) {
        if (!group_of.count(name)) throw Error(name, "not a Linear of this model");
        weights.push_back(name + ".weight");
    }
    const std::map<std::string, at::Tensor> grad_sum = summed_gradients(model, weights, calibration, job);
    at::NoGradGuard no_grad;
    const double batches = static_cast<double>(calibration.size());
    EcoflapScores scores;
    for (const auto& [name, s] : targets) {
        const at::Tensor w = model.weights().get(name + ".weight").to(at::kFloat);
        const double g = (w.abs() * (grad_sum.at(name + ".weight") / batches).abs()).sum(at::kDouble).item<double>();
        scores.matrix[name] = g;
        scores.group[group_of.at(name)] += g;
    }
    return scores;
}

}  // namespace ps
