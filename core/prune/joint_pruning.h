// CoMP-style joint pruning (Plan method "comp"): parameters (attention heads and MLP channels of
// the vision and language towers) and tokens (the vision tower's patches; the language tower's
// image tokens in LLaVA, its text tokens in dual encoders) are pruned together, one mode per stage,
// until the block FLOPs fall by the Plan's target.
//  - Collaborative importance: a parameter group is scored by token-weighted input norms (CIP:
//    structured Wanda over the o-projection / MLP-output inputs, each token weighted by its
//    importance; MLP channels by the next block's token scores), and tokens by attention with pruned
//    heads masked out of it (CIT).
//  - Multi-mode scheduler: each stage tries every mode's next step (removing `step` of the dense
//    FLOPs, or half of what the mode can still remove if that is less), measures its cost as the calibration-loss increase per fraction of FLOPs removed, blends
//    it with the mode's earlier cost (weight λ = max(λ0 − λ0/I_max · (I − 1), 0), I = stages since the
//    mode last ran), and applies the cheapest, or with probability ρ a mode drawn from
//    softmax(I/τ), so neglected modes get explored.
// Pruned heads and channels are zeroed in place (shapes kept; block_flops() counts them out), and
// the token pruning reached is installed on the model.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/registry.h"
#include "core/token/token_pruning.h"

namespace ps {

struct JointStage {
    int stage = 0;
    std::string mode;      // the mode applied
    bool explored = false;  // chosen by exploration rather than lowest cost
    std::map<std::string, double> measured, blended;  // per mode tried: Δloss per FLOPs fraction, and blended with history
    double loss = 0;            // calibration loss after the stage
    double flops_fraction = 1;  // block FLOPs left, as a fraction of the dense model's
};

struct JointBlockRemoval {
    int tower = 0, block = 0;
    std::vector<int64_t> heads, channels;  // removed, as indices in the block
};

struct JointResult {
    double target_reduction = 0;
    double dense_flops = 0, flops = 0;  // block FLOPs of one sample (see flops.h)
    double dense_loss = 0, loss = 0;    // calibration loss
    int64_t vision_tokens = 0, language_tokens = 0, image_tokens = 0;  // the sample the FLOPs are counted for
    std::vector<JointStage> stages;
    TokenPruning tokens;
    std::vector<JointBlockRemoval> removed;
    std::string note;  // why the target was not reached, when it was not
    double seconds = 0;

    double reduction() const { return dense_flops > 0 ? 1.0 - flops / dense_flops : 0.0; }
    nlohmann::json to_json() const;
    std::string to_text() const;
};

// Runs the scheduler on `model` with `calibration` (Plan "joint" section; the seed drives
// exploration). A cancelled or failed run leaves the model's weights and token hook as they were.
JointResult prune_joint(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job);

// Writes the jointly pruned `model` to `dir` (which must not exist; atomic) as a pruned checkpoint:
// every tensor under its name and shape with the removed heads and channels zeroed, masks of the
// zeroed Linears, plan.json with the token pruning reached in its "tokens" section (so `eval --plan`
// runs the model as pruned), and result.json (the JointResult).
void write_joint_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const JointResult& result, const std::string& dir);

// Method "comp" for the registry, with its options (the Plan's "joint" section).
PruneMethod comp_method();

}  // namespace ps
