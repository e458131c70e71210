#include "core/prune/pipeline.h"

#include <chrono>
#include <functional>
#include <cstdio>
#include <memory>
#include <set>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/hessian.h"
#include "core/prune/mask.h"
#include "core/prune/registry.h"
#include "core/prune/wanda.h"

namespace ps {
namespace {

using Clock = std::chrono::steady_clock;

struct Target {
    const LinearLayer* layer;
    double sparsity;
    // X Xᵀ: SparseGPT's H, and every method's error. Linears fed the same tensor (q/k/v, gate/up)
    // share one: the tap gives the later ones the first one's accumulator.
    std::shared_ptr<HessianAccumulator> gram;
    std::unique_ptr<ColumnNormAccumulator> norms;
};

// ||ΔW X|| / ||W X|| from the Gram matrix of the inputs: both quadratic forms from one float32
// product [W; ΔW]·G (G is float32 already), each row's sum taken in float64.
double relative_error(const at::Tensor& w, const at::Tensor& pruned, const at::Tensor& gram) {
    const at::Tensor wf = w.to(gram.device(), at::kFloat);
    const at::Tensor both = at::cat({wf, wf - pruned.to(gram.device(), at::kFloat)});
    const at::Tensor rows = at::matmul(both, gram.to(at::kFloat)).mul_(both).sum(1, false, at::kDouble);
    const int64_t out = wf.size(0);
    const double base = rows.narrow(0, 0, out).sum().item<double>(), err = rows.narrow(0, out, out).sum().item<double>();
    return base > 0 ? std::sqrt(std::max(0.0, err) / base) : 0.0;
}

// Thrown by the statistics pass's tap once every target of the block has seen its input: the rest
// of that block's run (at least the last Linear's product) would be thrown away, so it is skipped.
struct AllInputsSeen {};

}  // namespace

PruneResult prune_model(Vlm& model, const Plan& plan, const SparsityMap& allocation,
                        const std::vector<VlmInputs>& calibration, const JobControl& job, PrunedSink* sink) {
    const auto start = Clock::now();
    const PruneMethod& method = method_by_id(plan.method);
    const SparsityPattern pattern = SparsityPattern::parse(plan.pattern);
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    for (const auto& [name, s] : allocation) check_sparsity(s, name);
    std::map<std::string, const LinearLayer*> by_name;
    for (const LinearLayer& l : model.map().linears) by_name[l.name] = &l;
    for (const auto& [name, s] : allocation) {
        auto it = by_name.find(name);
        if (it == by_name.end() || (it->second->block < 0 && it->second->modality != Modality::Projector))
            throw Error(name, "not a Linear inside a block or the projector of this model");
        check_pattern(pattern, it->second->in_features, name);
    }

    WeightStore& w = model.weights();
    PruneResult result;
    result.method = plan.method;
    result.pattern = pattern.name();
    for (const auto& [name, s] : allocation)  // targets the allocation keeps dense are reported too
        if (s == 0) {
            const LinearLayer* l = by_name.at(name);
            TensorResult r;
            r.name = name;
            r.modality = modality_name(l->modality);
            r.block = l->block;
            r.numel = r.nnz = static_cast<int64_t>(l->params());
            result.tensors.push_back(r);
        }
    std::vector<std::pair<std::string, at::Tensor>> changed;  // weight name, its earlier override (if any)
    std::set<std::string> had_override;  // weights overridden before this run: set back, not unset
    std::vector<std::string> to_prune;   // allocated above zero, in a block its tower runs or the projector
    for (const auto& [name, s] : allocation) {
        const LinearLayer* l = by_name.at(name);
        if (w.overridden(name + ".weight")) had_override.insert(name + ".weight");
        if (s > 0 && l->modality == Modality::Projector && l->block < 0) to_prune.push_back(name);
        for (const TowerInfo& t : model.towers())
            if (s > 0 && t.modality == l->modality && l->block < t.num_blocks) {
                to_prune.push_back(name);
                break;
            }
    }
    auto restore = [&](const std::string& wname, const at::Tensor& before) {
        if (had_override.count(wname)) w.set(wname, before);
        else w.unset(wname);
    };
    if (sink) sink->begin(to_prune);
    at::NoGradGuard no_grad;

    // The targets of one stage: the allocation's Linears for which `pick` holds.
    auto stage_targets = [&](const std::function<bool(const LinearLayer&)>& pick) {
        std::map<std::string, Target> targets;
        for (const auto& [name, s] : allocation) {
            const LinearLayer* l = by_name.at(name);
            if (s > 0 && pick(*l)) {
                Target tg{l, s, std::make_unique<HessianAccumulator>(l->in_features, w.device()), nullptr};
                if (method.needs_column_norms) tg.norms = std::make_unique<ColumnNormAccumulator>(l->in_features, name + " input");
                targets.emplace(name, std::move(tg));
            }
        }
        return targets;
    };
    // Collects the targets' input statistics while `run(b)` runs calibration batch b through the
    // stage, then prunes every target that had an input (the rest stay in `targets` for a later
    // stage). The stage is run again by the caller with the pruned weights.
    auto prune_stage = [&](const std::string& stage, int block, std::map<std::string, Target>& targets,
                           const std::function<void(size_t)>& run) {
        if (targets.empty()) return;
        std::set<const Target*> seen, ever;  // this batch's targets that had their input; any batch's
        const Target* last = nullptr;        // the previous one, and its input
        at::Tensor last_input;
        w.set_linear_tap([&](const std::string& name, const at::Tensor& x) {
            auto it = targets.find(name);
            if (it == targets.end()) return;
            Target& tg = it->second;
            if (last && x.is_same(last_input) && last->gram->columns() == tg.gram->columns())
                tg.gram = last->gram;  // the same input as the previous target: its Gram is this one's
            else
                tg.gram->add(x);
            if (tg.norms) tg.norms->add(x);
            last = &tg;
            last_input = x;
            seen.insert(&tg);
            ever.insert(&tg);
            if (seen.size() == targets.size()) throw AllInputsSeen{};
        });
        for (size_t b = 0; b < calibration.size(); ++b) {
            seen.clear();
            last = nullptr;
            last_input = at::Tensor();
            try {
                run(b);
            } catch (const AllInputsSeen&) {
            }
            job.check(stage);
        }
        last_input = at::Tensor();
        w.set_linear_tap(nullptr);
        for (auto it = targets.begin(); it != targets.end();) {
            const std::string& name = it->first;
            Target& tg = it->second;
            if (!ever.count(&tg)) {
                ++it;
                continue;
            }
            const auto t0 = Clock::now();
            const std::string wname = name + ".weight";
            const at::Tensor weight = w.get(wname);
            LayerInput in;
            in.name = name;
            in.weight = weight;
            if (tg.norms) in.column_sq_norms = tg.norms->mean_squared_norms();
            if (method.needs_gram) in.gram = tg.gram->matrix();
            in.sparsity = tg.sparsity;
            in.pattern = pattern;
            in.group = compare_group_for(method, plan.compare, tg.layer->modality);
            in.plan = &plan;
            const PruneOutcome out = method.prune(in);
            const at::Tensor pruned = out.weight, mask = out.mask;
            // Only an earlier override needs keeping to be restored; a checkpoint tensor comes back
            // by unset() (so a streamed block's original pages are not held).
            changed.emplace_back(wname, had_override.count(wname) ? weight : at::Tensor());
            w.set(wname, pruned);
            TensorResult r;
            r.name = name;
            r.modality = modality_name(tg.layer->modality);
            r.block = block;
            r.target = tg.sparsity;
            r.numel = pruned.numel();
            r.nnz = pruned.count_nonzero().item<int64_t>();
            r.achieved = 1.0 - static_cast<double>(r.nnz) / static_cast<double>(r.numel);
            r.relative_error = relative_error(weight, pruned, tg.gram->matrix());
            r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            result.tensors.push_back(r);
            result.masks[name] = mask.to(at::kCPU);
            job.check(stage);
            it = targets.erase(it);
        }
    };
    // With a sink, the Linears pruned so far leave the model: one stage is held at a time.
    auto flush = [&] {
        if (!sink) return;
        for (const auto& [wname, before] : changed) {
            const std::string linear = wname.substr(0, wname.size() - 7);  // less ".weight"
            sink->add(linear, w.get(wname), result.masks.at(linear));
            result.masks.erase(linear);
            restore(wname, before);
        }
        changed.clear();
#ifdef __GLIBC__
        malloc_trim(0);  // give the stage's freed pages back rather than keep them in the heap
#endif
    };

    try {
        int64_t blocks_total = 0, blocks_done = 0;
        for (const TowerInfo& t : model.towers()) blocks_total += t.num_blocks;
        // Projector Linears run where the family runs them: in a tower's finish (LLaVA's projector,
        // before the language tower) or in the head (dual encoders' projections).
        auto projectors = stage_targets([](const LinearLayer& l) { return l.modality == Modality::Projector && l.block < 0; });
        std::vector<std::vector<StageState>> done(calibration.size());
        for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
            const TowerInfo& tower = model.towers()[t];
            std::vector<StageState> states;
            for (size_t b = 0; b < calibration.size(); ++b) states.push_back(model.embed(t, calibration[b], done[b]));
            for (int i = 0; i < tower.num_blocks; ++i) {
                auto targets = stage_targets([&](const LinearLayer& l) { return l.block == i && l.modality == tower.modality; });
                const std::string stage = tower.name + " block " + std::to_string(i);
                prune_stage(stage, i, targets, [&](size_t b) {
                    StageState probe = states[b];
                    model.block(t, i, probe);
                });
                if (!targets.empty()) throw Error(targets.begin()->first, "its block never ran it, so it cannot be calibrated");
                for (StageState& s : states) model.block(t, i, s);
                flush();
                job.report("pruning", ++blocks_done, blocks_total, stage);
            }
            prune_stage(tower.name + " finish", -1, projectors, [&](size_t b) {
                StageState probe = states[b];
                model.finish(t, probe);
            });
            for (size_t b = 0; b < states.size(); ++b) {
                model.finish(t, states[b]);
                done[b].push_back(std::move(states[b]));
            }
            flush();
        }
        prune_stage("head", -1, projectors, [&](size_t b) { model.head(calibration[b], done[b]); });
        flush();
        if (!projectors.empty())
            throw Error(projectors.begin()->first, "this model's forward never runs it, so it cannot be calibrated");
    } catch (...) {
        w.set_linear_tap(nullptr);
        for (auto it = changed.rbegin(); it != changed.rend(); ++it) restore(it->first, it->second);
        throw;
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

nlohmann::json PruneResult::to_json() const {
    nlohmann::json tensors_json = nlohmann::json::array(), modalities = nlohmann::json::object();
    std::map<std::string, std::pair<int64_t, int64_t>> totals;  // modality -> (zeros, numel)
    int64_t zeros = 0, numel = 0;
    for (const TensorResult& t : tensors) {
        tensors_json.push_back({{"name", t.name}, {"modality", t.modality}, {"block", t.block}, {"target", t.target},
                                {"achieved", t.achieved}, {"nnz", t.nnz}, {"numel", t.numel},
                                {"relative_error", t.relative_error}, {"seconds", t.seconds}});
        totals[t.modality].first += t.numel - t.nnz;
        totals[t.modality].second += t.numel;
        zeros += t.numel - t.nnz;
        numel += t.numel;
    }
    for (const auto& [m, zn] : totals)
        modalities[m] = {{"sparsity", static_cast<double>(zn.first) / zn.second}, {"pruned", zn.first}, {"params", zn.second}};
    return {{"method", method},
            {"pattern", pattern},
            {"seconds", seconds},
            {"total", {{"sparsity", numel ? static_cast<double>(zeros) / numel : 0.0}, {"pruned", zeros}, {"params", numel}}},
            {"modalities", modalities},
            {"tensors", tensors_json}};
}

std::string PruneResult::to_text() const {
    const nlohmann::json j = to_json();
    std::string s;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s %s: %zu tensors in %.1f s\n", method.c_str(), pattern.c_str(), tensors.size(), seconds);
    s += buf;
    for (const auto& [m, v] : j["modalities"].items()) {
        std::snprintf(buf, sizeof buf, "  %-10s sparsity %.4f (%lld of %lld weights)\n", m.c_str(), v["sparsity"].get<double>(),
                      static_cast<long long>(v["pruned"].get<int64_t>()), static_cast<long long>(v["params"].get<int64_t>()));
        s += buf;
    }
    std::snprintf(buf, sizeof buf, "  %-10s sparsity %.4f\n", "total", j["total"]["sparsity"].get<double>());
    s += buf;
    double err = 0;
    for (const TensorResult& t : tensors) err += t.relative_error / static_cast<double>(tensors.size());
    std::snprintf(buf, sizeof buf, "  mean relative reconstruction error %.4f\n", err);
    return s + buf;
}

}  // namespace ps
