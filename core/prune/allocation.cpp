#include "core/prune/allocation.h"

#include <regex>

#include "core/error.h"
#include "core/prune/pattern.h"

namespace ps {

SparsityMap allocate(const Plan& plan, const ModelMap& map) {
    const SparsityPattern pattern = SparsityPattern::parse(plan.pattern);
    check_sparsity(plan.sparsity, "plan sparsity");
    std::vector<std::regex> targets, ignore;
    for (const auto& r : plan.targets) targets.emplace_back(r);
    for (const auto& r : plan.ignore) ignore.emplace_back(r);
    std::vector<bool> target_used(targets.size(), false), ignore_used(ignore.size(), false);
    if (plan.allocation.modality.count("projector") && plan.allocation.modality.at("projector") > 0)
        throw Error("plan allocation.projector", "projector Linears are not pruned yet; set it to 0");

    SparsityMap out;
    for (const LinearLayer& l : map.linears) {
        if (!l.prunable || l.block < 0 || (l.modality != Modality::Vision && l.modality != Modality::Language)) continue;
        bool hit = false;
        for (size_t i = 0; i < targets.size(); ++i)
            if (std::regex_match(l.name, targets[i])) hit = target_used[i] = true;
        if (!hit) continue;
        bool skip = false;
        for (size_t i = 0; i < ignore.size(); ++i)
            if (std::regex_match(l.name, ignore[i])) skip = ignore_used[i] = true;
        if (skip) continue;
        double s = plan.sparsity;
        if (plan.allocation.kind == "modality") {
            const std::string m = modality_name(l.modality);
            if (plan.allocation.modality.count(m)) s = plan.allocation.modality.at(m);
        }
        out[l.name] = s;
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
