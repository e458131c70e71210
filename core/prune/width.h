// Structured width pruning (LLM-Pruner-style): coupled groups of weights are scored on calibration
// data and the least important are physically removed. An MLP channel couples a row of fc1 (or
// gate and up) with a column of fc2 (or down); an attention group couples a key/value head with its
// query heads (one head without grouped-query attention) across q, k, v rows and o columns. Every
// block of a tower loses the same number of groups, so the rewritten config keeps one width per
// tower, as transformers' configs require.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/registry.h"

namespace ps {

struct WidthTower {
    std::string tower;       // "vision", "text", "language"
    std::string modality;
    std::string config_key;  // the config.json object rewritten: vision_config | text_config
    std::string width_key = "intermediate_size";  // its MLP width's field (TowerCapabilities::width_key)
    double ratio = 0;        // fraction of groups removed per block
    int64_t heads_before = 0, heads_after = 0, kv_heads_before = 0, kv_heads_after = 0, head_dim = 0;
    int64_t channels_before = 0, channels_after = 0;
    int64_t params_before = 0, params_after = 0;  // weights and biases of the tower's block Linears
    // Per block of the checkpoint: removed key/value groups and MLP channels, as indices before pruning.
    std::vector<std::vector<int64_t>> removed_groups, removed_channels;
    // Per block: the score of every key/value group (empty where heads are kept) and MLP channel.
    std::vector<std::vector<double>> group_scores, channel_scores;
    std::string note;  // why attention heads were kept, where they were
};

struct WidthResult {
    std::string score;  // taylor | activation
    std::vector<WidthTower> towers;
    double seconds = 0;

    nlohmann::json to_json() const;
    std::string to_text() const;
};

// Scores the groups of every tower whose ratio (modality_sparsity()) is above 0 and removes the
// lowest floor(ratio · groups) per block from `model`: its WeightStore gets the shrunk tensors as
// overrides, so the model runs pruned at once. Scores: taylor = Σ over the group's weights of
// |W ⊙ ∂L/∂W| with the gradient of the calibration loss summed over the batches; activation = the
// squared norm of the group's output (the o / fc2 / down input columns) over the calibration tokens.
// Attention heads are removed only where transformers can load fewer heads (LLaMA decoders, whose
// config has head_dim); elsewhere they are kept and the tower's note says so. Blocks a model holds
// but does not run (LLaVA's vision layers past vision_feature_layer) lose channels by weight
// magnitude, to keep the tower uniform. Throws ps::Error before any change for a Plan that is not
// method width, selects tensors by regex, or leaves nothing to remove; a cancelled or failed run
// leaves the model as it was.
WidthResult prune_width(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job);

// Writes the width-pruned `model` to `dir` (which must not exist; atomic): every tensor under its
// name (shrunk where pruned), config.json with the towers' intermediate_size (and for LLaMA
// num_attention_heads, num_key_value_heads, head_dim) rewritten, the other files copied, plan.json
// and width.json (the result).
void write_width_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const WidthResult& result, const std::string& dir);

// Method "width" for the registry, with its options (the Plan's "structured" section).
PruneMethod width_method();

}  // namespace ps
