#include "core/prune/sensitivity_allocation.h"

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/prune/owl.h"

namespace ps {

std::map<std::string, double> read_sensitivity(const std::string& sweep_json) {
    // Only what a sensitivity sweep adds to sweep.json (core/eval/sweep_result.h): the dense score,
    // each point's block and score, and whether the score is a loss.
    const nlohmann::json j = read_json_file(sweep_json);
    std::map<std::string, double> drops;
    try {
        const double dense = j.at("dense_accuracy").get<double>();
        const double sign = j.value("lower_is_better", false) ? -1.0 : 1.0;
        for (const auto& p : j.at("points")) {
            const std::string block = p.value("block", std::string());
            if (!block.empty()) drops[block] = sign * (dense - p.at("accuracy").get<double>());
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(sweep_json, "not a sweep: " + json_error_text(e));
    }
    if (drops.empty()) throw Error(sweep_json, "holds no sensitivity points (run prunestudio-cli sweep --sensitivity)");
    return drops;
}

SparsityMap sensitivity_allocate(const ModelMap& map, const SparsityMap& targets, const std::string& sweep_json,
                                 double sparsity, double lambda) {
    const std::map<std::string, double> drops = read_sensitivity(sweep_json);
    for (const LinearLayer& l : map.linears)
        if (targets.count(l.name) && !drops.count(l.group))
            throw Error(sweep_json, "has no sensitivity point for block " + l.group + " (a sweep of another model?)");
    return owl_allocate(map, targets, drops, sparsity, lambda);
}

}  // namespace ps
