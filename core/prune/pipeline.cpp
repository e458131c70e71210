#include "core/prune/pipeline.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/hessian.h"
#include "core/prune/magnitude.h"
#include "core/prune/mask.h"
#include "core/prune/sparsegpt.h"
#include "core/prune/wanda.h"

namespace ps {
namespace {

using Clock = std::chrono::steady_clock;

struct Target {
    const LinearLayer* layer;
    double sparsity;
    std::unique_ptr<HessianAccumulator> gram;  // X Xᵀ: SparseGPT's H, and every method's error
    std::unique_ptr<ColumnNormAccumulator> norms;
};

// ||ΔW X|| / ||W X|| from the Gram matrix of the inputs.
double relative_error(const at::Tensor& w, const at::Tensor& pruned, const at::Tensor& gram) {
    const at::Tensor g = gram.to(at::kDouble);
    const at::Tensor wd = w.to(gram.device(), at::kDouble), d = wd - pruned.to(gram.device(), at::kDouble);
    const double base = (at::matmul(wd, g) * wd).sum().item<double>();
    return base > 0 ? std::sqrt(std::max(0.0, (at::matmul(d, g) * d).sum().item<double>()) / base) : 0.0;
}

}  // namespace

PruneResult prune_model(Vlm& model, const Plan& plan, const SparsityMap& allocation,
                        const std::vector<VlmInputs>& calibration, const JobControl& job) {
    const auto start = Clock::now();
    if (plan.method != "magnitude" && plan.method != "wanda" && plan.method != "sparsegpt")
        throw Error("plan method", "\"" + plan.method + "\" is not magnitude, wanda or sparsegpt");
    const SparsityPattern pattern = SparsityPattern::parse(plan.pattern);
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    for (const auto& [name, s] : allocation) check_sparsity(s, name);
    std::map<std::string, const LinearLayer*> by_name;
    for (const LinearLayer& l : model.map().linears) by_name[l.name] = &l;
    for (const auto& [name, s] : allocation) {
        auto it = by_name.find(name);
        if (it == by_name.end() || it->second->block < 0) throw Error(name, "not a Linear inside a block of this model");
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
    std::vector<std::pair<std::string, at::Tensor>> changed;  // weight name, its tensor before
    at::NoGradGuard no_grad;
    try {
        int64_t blocks_total = 0, blocks_done = 0;
        for (const TowerInfo& t : model.towers()) blocks_total += t.num_blocks;
        std::vector<std::vector<StageState>> done(calibration.size());
        for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
            const TowerInfo& tower = model.towers()[t];
            std::vector<StageState> states;
            for (size_t b = 0; b < calibration.size(); ++b) states.push_back(model.embed(t, calibration[b], done[b]));
            for (int i = 0; i < tower.num_blocks; ++i) {
                std::map<std::string, Target> targets;
                for (const auto& [name, s] : allocation) {
                    const LinearLayer* l = by_name.at(name);
                    if (s > 0 && l->block == i && l->modality == tower.modality) {
                        Target tg{l, s, std::make_unique<HessianAccumulator>(l->in_features, w.device()), nullptr};
                        if (plan.method == "wanda") tg.norms = std::make_unique<ColumnNormAccumulator>(l->in_features, name + " input");
                        targets.emplace(name, std::move(tg));
                    }
                }
                const std::string stage = tower.name + " block " + std::to_string(i);
                if (!targets.empty()) {
                    w.set_linear_tap([&](const std::string& name, const at::Tensor& x) {
                        auto it = targets.find(name);
                        if (it == targets.end()) return;
                        it->second.gram->add(x);
                        if (it->second.norms) it->second.norms->add(x);
                    });
                    for (size_t b = 0; b < states.size(); ++b) {
                        StageState probe = states[b];
                        model.block(t, i, probe);
                        job.check(stage);
                    }
                    w.set_linear_tap(nullptr);
                    for (auto& [name, tg] : targets) {
                        const auto t0 = Clock::now();
                        const std::string wname = name + ".weight";
                        const at::Tensor weight = w.get(wname);
                        // auto: magnitude compares within the matrix; Wanda per matrix in vision
                        // towers (RESSA/ECoFLaP) and per output row elsewhere.
                        const bool matrix = plan.method == "magnitude" || tg.layer->modality == Modality::Vision;
                        const CompareGroup group = plan.compare == "auto" ? (matrix ? CompareGroup::Matrix : CompareGroup::Row)
                                                                          : parse_compare_group(plan.compare);
                        at::Tensor pruned, mask;
                        if (plan.method == "sparsegpt") {
                            SparseGptOptions o;
                            o.blocksize = plan.sparsegpt_blocksize;
                            o.percdamp = plan.sparsegpt_percdamp;
                            PruneOutcome out = sparsegpt_prune(weight, tg.gram->matrix(), tg.sparsity, pattern, o);
                            pruned = out.weight;
                            mask = out.mask;
                        } else {
                            const at::Tensor scores = plan.method == "wanda"
                                                          ? wanda_scores(weight, tg.norms->mean_squared_norms(), name)
                                                          : magnitude_scores(weight, name);
                            mask = select_pruned(scores, tg.sparsity, pattern, group, name);
                            pruned = weight.masked_fill(mask, 0);
                        }
                        changed.emplace_back(wname, weight);
                        w.set(wname, pruned);
                        TensorResult r;
                        r.name = name;
                        r.modality = modality_name(tg.layer->modality);
                        r.block = i;
                        r.target = tg.sparsity;
                        r.numel = pruned.numel();
                        r.nnz = pruned.count_nonzero().item<int64_t>();
                        r.achieved = 1.0 - static_cast<double>(r.nnz) / static_cast<double>(r.numel);
                        r.relative_error = relative_error(weight, pruned, tg.gram->matrix());
                        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                        result.tensors.push_back(r);
                        result.masks[name] = mask.to(at::kCPU);
                        job.check(stage);
                    }
                }
                for (StageState& s : states) model.block(t, i, s);
                job.report("pruning", ++blocks_done, blocks_total, stage);
            }
            for (size_t b = 0; b < states.size(); ++b) {
                model.finish(t, states[b]);
                done[b].push_back(std::move(states[b]));
            }
        }
    } catch (...) {
        w.set_linear_tap(nullptr);
        for (auto it = changed.rbegin(); it != changed.rend(); ++it) w.set(it->first, it->second);
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
