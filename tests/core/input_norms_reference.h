// Reference input statistics for the pruning tests: a_j = Σ x_j² / samples of each named Linear's
// inputs over a plain forward pass of the calibration batches, in float64, written without core/prune.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/model/vlm.h"

namespace ps_test {

// `linears`: any map keyed by Linear names (a SparsityMap); a 3-d input [B, N, D] counts B samples.
template <typename Keyed>
std::map<std::string, at::Tensor> reference_column_sq_norms(ps::Vlm& model, const Keyed& linears,
                                                            const std::vector<ps::VlmInputs>& calibration) {
    std::map<std::string, at::Tensor> sums;
    std::map<std::string, int64_t> samples;
    model.weights().set_linear_tap([&](const std::string& name, const at::Tensor& x) {
        if (!linears.count(name)) return;
        const at::Tensor sq = x.to(at::kDouble).pow(2).reshape({-1, x.size(-1)}).sum(0);
        sums[name] = sums.count(name) ? sums[name] + sq : sq;
        samples[name] += x.size(0);
    });
    for (const ps::VlmInputs& b : calibration) model.forward(b);
    model.weights().set_linear_tap(nullptr);
    for (auto& [name, s] : sums) s = s / static_cast<double>(samples.at(name));
    return sums;
}

}  // namespace ps_test
