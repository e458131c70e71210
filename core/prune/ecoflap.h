// ECoFLaP's coarse step (Sung et al., ICLR 2024): a forward-only importance per weight matrix,
// ĝ = |L(θ + εz) − L(θ − εz)| / 2ε with z ~ N(0, I) per matrix and calibration batch, summed per
// transformer block, then a keep budget of (1 − s) of the targeted weights shared jointly by all
// towers: every block keeps at least 1 − (s + extra), the rest goes to blocks by importance, and
// the budget is met exactly. The result is the {Linear: sparsity} map the fine step prunes with.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"

namespace ps {

struct EcoflapOptions {
    double epsilon = 1e-3;
    double extra = 0.1;    // s_max = s + extra
    int64_t samples = 32;  // calibration samples the importance is measured on (ECoFLaP's default)
    uint64_t seed = 0;
};

struct EcoflapScores {
    std::map<std::string, double> matrix;  // Linear -> accumulated ĝ
    std::map<std::string, double> group;   // block path -> Σ ĝ of its targeted Linears
};

EcoflapScores ecoflap_scores(Vlm& model, const SparsityMap& targets, const std::vector<VlmInputs>& calibration,
                             const EcoflapOptions& opt, const JobControl& job);

// Keep budgets per block from the scores: returns each targeted Linear's sparsity. `targets`
// gives the Linears (their values are ignored); `sparsity` is the overall target.
SparsityMap ecoflap_allocate(const ModelMap& map, const SparsityMap& targets, const EcoflapScores& scores,
                             double sparsity, const EcoflapOptions& opt);

}  // namespace ps
