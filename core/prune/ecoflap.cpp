#include "core/prune/ecoflap.h"

#include <algorithm>
#include <cmath>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/calibration_loss.h"

namespace ps {

EcoflapScores ecoflap_scores(Vlm& model, const SparsityMap& targets, const std::vector<VlmInputs>& calibration,
                             const EcoflapOptions& opt, const JobControl& job) {
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    if (!(opt.epsilon > 0)) throw Error("ecoflap epsilon", "must be positive");
    at::NoGradGuard no_grad;
    WeightStore& w = model.weights();
    std::map<std::string, std::string> group_of;
    for (const LinearLayer& l : model.map().linears) group_of[l.name] = l.group;
    // The first batches that hold `samples` calibration samples.
    std::vector<const VlmInputs*> batches;
    int64_t seen = 0;
    for (const VlmInputs& b : calibration) {
        if (seen >= opt.samples) break;
        batches.push_back(&b);
        seen += b.input_ids.size(0);
    }
    EcoflapScores scores;
    int64_t index = 0;
    for (const auto& [name, s] : targets) {
        const std::string wname = name + ".weight";
        const bool had_override = w.overridden(wname);
        const at::Tensor theta = w.get(wname);
        double g = 0;
        try {
            for (size_t b = 0; b < batches.size(); ++b) {
                at::Generator gen = at::detail::createCPUGenerator(opt.seed * 1000003 + static_cast<uint64_t>(index) * 1009 + b);
                const at::Tensor z = at::randn(theta.sizes(), gen, at::TensorOptions().dtype(at::kFloat)).to(theta.device(), theta.scalar_type());
                w.set(wname, theta + opt.epsilon * z);
                const double plus = calibration_loss(model, *batches[b]).item<double>();
                w.set(wname, theta - opt.epsilon * z);
                const double minus = calibration_loss(model, *batches[b]).item<double>();
                g += std::abs(plus - minus) / (2 * opt.epsilon);
                job.check("ecoflap importance");
            }
        } catch (...) {
            if (had_override) w.set(wname, theta);
            else w.unset(wname);
            throw;
        }
        if (had_override) w.set(wname, theta);
        else w.unset(wname);
        scores.matrix[name] = g;
        scores.group[group_of.at(name)] += g;
        job.report("ecoflap importance", ++index, static_cast<int64_t>(targets.size()), name);
    }
    return scores;
}

SparsityMap ecoflap_allocate(const ModelMap& map, const SparsityMap& targets, const EcoflapScores& scores, double sparsity,
                             const EcoflapOptions& opt) {
    std::map<std::string, const LinearLayer*> by_name;
    for (const LinearLayer& l : map.linears) by_name[l.name] = &l;
    struct Group {
        int64_t params = 0, keep = 0, floor = 0;
        double score = 0;
    };
    std::map<std::string, Group> groups;
    int64_t total = 0;
    for (const auto& [name, s] : targets) {
        const LinearLayer* l = by_name.at(name);
        groups[l->group].params += static_cast<int64_t>(l->params());
        total += static_cast<int64_t>(l->params());
    }
    const int64_t budget = static_cast<int64_t>(std::llround((1.0 - sparsity) * static_cast<double>(total)));
    const double s_max = std::min(sparsity + opt.extra, 1.0);
    int64_t kept = 0;
    for (auto& [path, g] : groups) {
        g.score = scores.group.count(path) ? scores.group.at(path) : 0.0;
        g.floor = g.keep = std::min(g.params, static_cast<int64_t>(std::ceil(static_cast<double>(g.params) * (1.0 - s_max))));
        kept += g.keep;
    }
    // Hand out what is left in proportion to importance; full groups drop out of the sharing.
    while (kept < budget) {
        double open_score = 0;
        int64_t open_room = 0;
        for (const auto& [p, g] : groups)
            if (g.keep < g.params) {
                open_score += g.score;
                open_room += g.params - g.keep;
            }
        if (open_room == 0) break;
        const int64_t left = budget - kept;
        for (auto& [p, g] : groups) {
            if (g.keep >= g.params) continue;
            const double share = open_score > 0 ? g.score / open_score
                                                : static_cast<double>(g.params - g.keep) / static_cast<double>(open_room);
            const int64_t add = std::min(g.params - g.keep, static_cast<int64_t>(std::ceil(share * static_cast<double>(left))));
            g.keep += add;
            kept += add;
        }
    }
    // Rounding up may overshoot: take the excess back from the least important groups first.
    std::vector<Group*> order;
    for (auto& [p, g] : groups) order.push_back(&g);
    std::stable_sort(order.begin(), order.end(), [](const Group* a, const Group* b) { return a->score < b->score; });
    for (Group* g : order) {
        if (kept <= budget) break;
        const int64_t take = std::min(kept - budget, g->keep - g->floor);
        g->keep -= take;
        kept -= take;
    }
    SparsityMap out;
    for (const auto& [name, s] : targets) {
        const Group& g = groups.at(by_name.at(name)->group);
        out[name] = 1.0 - static_cast<double>(g.keep) / static_cast<double>(g.params);
    }
    return out;
}

}  // namespace ps
