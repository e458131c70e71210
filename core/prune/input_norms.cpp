#include "core/prune/input_norms.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"

namespace ps {

std::map<std::string, ColumnNormAccumulator> input_column_norms(Vlm& model, const std::vector<std::string>& linears,
                                                                const std::vector<VlmInputs>& calibration,
                                                                const JobControl& job, const std::string& stage) {
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    std::map<std::string, int64_t> columns;
    for (const LinearLayer& l : model.map().linears) columns[l.name] = l.in_features;
    std::map<std::string, ColumnNormAccumulator> norms;
    for (const std::string& name : linears) {
        auto it = columns.find(name);
        if (it == columns.end()) throw Error(name, "not a Linear of this model");
        norms.emplace(name, ColumnNormAccumulator(it->second, name + " input"));
    }
    at::NoGradGuard no_grad;
    WeightStore& w = model.weights();
    w.set_linear_tap([&](const std::string& name, const at::Tensor& x) {
        auto it = norms.find(name);
        if (it != norms.end()) it->second.add(x);
    });
    try {
        for (size_t b = 0; b < calibration.size(); ++b) {
            model.forward(calibration[b]);
            job.report(stage, static_cast<int64_t>(b) + 1, static_cast<int64_t>(calibration.size()));
        }
    } catch (...) {
        w.set_linear_tap(nullptr);
        throw;
    }
    w.set_linear_tap(nullptr);
    return norms;
}

}  // namespace ps
