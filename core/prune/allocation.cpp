#include "core/prune/allocation.h"

#include <map>
#include <regex>

#include "core/error.h"
#include "core/prune/pattern.h"

namespace ps {

double modality_sparsity(const PruneOptions& plan, Modality m) {
    const auto it = plan.allocation.modality.find(modality_name(m));
    return plan.allocation.kind == "modality" && it != plan.allocation.modality.end() ? it->second : plan.sparsity;
}

double overall_sparsity(const SparsityMap& allocation, const ModelMap& map) {
    std::map<std::string, double> params_of;
    for (const LinearLayer& l : map.linears) params_of[l.name] = static_cast<double>(l.params());
    double weighted = 0, params = 0;
    for (const auto& [name, s] : allocation) {
        const auto it = params_of.find(name);
        if (it == params_of.end()) throw Error(name, "is not a Linear of " + map.dir);
        weighted += s * it->second;
        params += it->second;
    }
    return params > 0 ? weighted / params : 0.0;
}

void check_whole_tower_plan(const PruneOptions& plan) {
    const std::string what = plan.method == "depth" ? "depth pruning drops whole blocks" : "width pruning keeps the blocks of a tower alike";
    if (plan.targets != std::vector<std::string>{".*"} || !plan.ignore.empty() || !plan.overrides.empty())
        throw Error("plan targets", what + "; choose towers by their ratios (allocation vision / language), not by "
                                           "targets, ignore or overrides");
    if (plan.allocation.kind != "uniform" && plan.allocation.kind != "modality")
        throw Error("plan allocation.kind", what + "; \"" + plan.allocation.kind + "\" allocation is for sparse methods (use uniform or modality)");
}

SparsityMap allocate(const PruneOptions& plan, const ModelMap& map) {
    const SparsityPattern pattern = SparsityPattern::parse(plan.pattern);
    check_sparsity(plan.sparsity, "plan sparsity");
    std::vector<std::regex> targets, ignore;
    for (const auto& r : plan.targets) targets.emplace_back(r);
    for (const auto& r : plan.ignore) ignore.emplace_back(r);
    std::vector<bool> target_used(targets.size(), false), ignore_used(ignore.size(), false);
    // The projector is pruned only when a per-modality Plan gives it a ratio (RESSA and ECoFLaP keep it).
    const bool projector = plan.allocation.kind == "modality" && plan.allocation.modality.count("projector");

    SparsityMap out;
    for (const LinearLayer& l : map.linears) {
        const bool in_block = l.block >= 0 && (l.modality == Modality::Vision || l.modality == Modality::Language);
        if (!l.prunable || !(in_block || (projector && l.modality == Modality::Projector && l.block < 0))) continue;
        bool hit = false;
        for (size_t i = 0; i < targets.size(); ++i)
            if (std::regex_match(l.name, targets[i])) hit = target_used[i] = true;
        if (!hit) continue;
        bool skip = false;
        for (size_t i = 0; i < ignore.size(); ++i)
            if (std::regex_match(l.name, ignore[i])) skip = ignore_used[i] = true;
        if (skip) continue;
        out[l.name] = modality_sparsity(plan, l.modality);
    }
    for (size_t i = 0; i < targets.size(); ++i)
        if (!target_used[i]) throw Error("plan targets", "\"" + plan.targets[i] + "\" matches no prunable Linear of " + map.dir);
    for (size_t i = 0; i < ignore.size(); ++i)
        if (!ignore_used[i]) throw Error("plan ignore", "\"" + plan.ignore[i] + "\" matches no targeted Linear");
    for (const auto& [name, s] : plan.overrides) {
        auto it = out.find(name);
        if (it == out.end()) throw Error("plan overrides", name + " is not a targeted Linear");
        it->second = s;
    }
    if (pattern.is_nm())
        for (auto& [name, s] : out)
            if (s > 0) s = static_cast<double>(pattern.n) / pattern.m;
    return out;
}

}  // namespace ps
