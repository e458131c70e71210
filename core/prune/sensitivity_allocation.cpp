#include "core/prune/sensitivity_allocation.h"

#include "core/error.h"
#include "core/eval/sweep.h"
#include "core/io/json_util.h"
#include "core/prune/owl.h"

namespace ps {

std::map<std::string, double> read_sensitivity(const std::string& sweep_json) {
    const SweepResult sweep = SweepResult::from_json(read_json_file(sweep_json), sweep_json);
    std::map<std::string, double> drops;
    for (const SweepPoint& p : sweep.points)
        if (!p.block.empty()) drops[p.block] = sweep.dense_accuracy - p.accuracy;
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
