#include "core/prune/owl.h"

#include <algorithm>
#include <cmath>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/input_norms.h"
#include "core/prune/pattern.h"

namespace ps {
namespace {

std::map<std::string, const LinearLayer*> linears_by_name(const ModelMap& map, const SparsityMap& targets) {
    std::map<std::string, const LinearLayer*> all, out;
    for (const LinearLayer& l : map.linears) all[l.name] = &l;
    for (const auto& [name, s] : targets) {
        auto it = all.find(name);
        if (it == all.end() || it->second->block < 0) throw Error(name, "not a Linear inside a block of this model");
        out.emplace(name, it->second);
    }
    return out;
}

}  // namespace

std::map<std::string, double> owl_outlier_ratios(Vlm& model, const SparsityMap& targets,
                                                 const std::vector<VlmInputs>& calibration, double m,
                                                 const JobControl& job) {
    if (!(m > 0 && std::isfinite(m))) throw Error("owl M", "must be a positive number");
    const auto layers = linears_by_name(model.map(), targets);
    std::vector<std::string> linears;
    std::map<std::string, std::vector<std::string>> blocks;  // block path -> its targeted Linears
    for (const auto& [name, l] : layers) {
        linears.push_back(name);
        blocks[l->group].push_back(name);
    }
    const auto norms = input_column_norms(model, linears, calibration, job, "owl outliers");

    at::NoGradGuard no_grad;
    const WeightStore& w = model.weights();
    std::map<std::string, double> ratios;
    for (const auto& [path, names] : blocks) {
        std::vector<at::Tensor> scores;
        double sum = 0;
        int64_t count = 0;
        for (const std::string& name : names) {
            scores.push_back(wanda_scores(w.get(name + ".weight"), norms.at(name).mean_squared_norms(), name));
            sum += scores.back().sum(at::kDouble).item<double>();
            count += scores.back().numel();
        }
        const double threshold = m * sum / static_cast<double>(count);
        int64_t outliers = 0;
        for (const at::Tensor& s : scores) outliers += (s.to(at::kDouble) > threshold).sum().item<int64_t>();
        ratios[path] = static_cast<double>(outliers) / static_cast<double>(count);
        job.check("owl outliers");
    }
    return ratios;
}

SparsityMap owl_allocate(const ModelMap& map, const SparsityMap& targets, const std::map<std::string, double>& ratios,
                         double sparsity, double lambda) {
    check_sparsity(sparsity, "owl sparsity");
    if (!(lambda >= 0 && lambda < 1)) throw Error("owl lambda", "must be in [0, 1)");
    const auto layers = linears_by_name(map, targets);
    struct Block {
        double params = 0, ratio = 0, raw = 0;
    };
    std::map<Modality, std::map<std::string, Block>> towers;
    for (const auto& [name, l] : layers) {
        auto it = ratios.find(l->group);
        if (it == ratios.end()) throw Error(l->group, "no outlier ratio for this block");
        Block& b = towers[l->modality][l->group];
        b.params += static_cast<double>(l->params());
        b.ratio = it->second;
    }
    const double top = std::nextafter(1.0, 0.0);  // the largest sparsity below 1
    std::map<std::string, double> by_block;
    for (auto& [modality, blocks] : towers) {
        double lo = blocks.begin()->second.ratio, hi = lo, params = 0;
        for (const auto& [p, b] : blocks) {
            lo = std::min(lo, b.ratio);
            hi = std::max(hi, b.ratio);
            params += b.params;
        }
        for (auto& [p, b] : blocks) b.raw = hi > lo ? sparsity + lambda - 2 * lambda * (b.ratio - lo) / (hi - lo) : sparsity;
        // The shift c with Σ params · clamp(raw + c) = sparsity · Σ params: the sum is continuous and
        // non-decreasing in c, below the target at c = -2 and above it at c = 2; bisect to the last bit.
        const auto at_shift = [&](double c, const Block& b) { return std::clamp(b.raw + c, 0.0, top); };
        double below = -2, above = 2;
        for (int it = 0; it < 200 && below < above; ++it) {
            const double mid = 0.5 * (below + above);
            if (mid == below || mid == above) break;
            double weighted = 0;
            for (const auto& [p, b] : blocks) weighted += b.params * at_shift(mid, b);
            (weighted < sparsity * params ? below : above) = mid;
        }
        for (const auto& [p, b] : blocks) by_block[p] = at_shift(above, b);
    }
    SparsityMap out;
    for (const auto& [name, l] : layers) out[name] = by_block.at(l->group);
    return out;
}

}  // namespace ps
