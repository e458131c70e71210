// Structured depth pruning (ShortGPT): score every transformer block by how little it changes the
// hidden states it is given, and write a checkpoint without the least influential blocks of a tower.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/registry.h"

namespace ps {

// Block Influence of one block: Σ over tokens and calibration batches of 1 − cos(h_in, h_out), the
// token's hidden state before and after the block (padding tokens excluded where the batch has an
// attention mask; a NaN cosine counts as 0.5).
struct BlockInfluence {
    int tower = 0;
    int block = 0;
    double score = 0;
};

// Every block of every tower, in tower then block order. The calibration batches run tower by tower
// and block by block, as the pruning pipeline drives the stages, under NoGrad. Progress per block.
std::vector<BlockInfluence> block_influence(const Vlm& model, const std::vector<VlmInputs>& calibration, const JobControl& job);

// The `count` blocks of tower `tower` with the lowest influence, ascending by block index (ties:
// lower index first). Throws ps::Error when the tower has no scores or `count` would leave no block.
std::vector<int> least_influential(const std::vector<BlockInfluence>& bi, int tower, int count);

using BlockDrops = std::map<int, std::vector<int>>;  // tower -> its blocks to drop

// How many blocks a depth Plan drops per tower: floor(ratio · blocks) in each tower whose ratio
// (modality_sparsity()) is above 0; checked before any work. Throws ps::Error for a Plan that is
// not method depth or would drop no block.
std::map<int, int> depth_counts(const Vlm& model, const PruneOptions& plan);

// Writes the checkpoint of `model` to `dir` (which must not exist; atomic: all or nothing) without
// the blocks `drops` names per tower: the remaining blocks' tensors renumbered contiguously (e.g.
// "text_model.encoder.layer.4." → "text_model.encoder.layer.3."), num_hidden_layers of each tower's
// text_config / vision_config rewritten, the other files (tokenizer, preprocessor config) copied,
// depth.json recording what was dropped and, when given, the Plan as plan.json. Tensors are the checkpoint's own (in-memory weight
// overrides are not written). Refuses LLaVA's vision tower: vision_feature_layer indexes its hidden
// states. Throws ps::Error naming the tower, block or folder.
void write_depth_pruned_checkpoint(const Vlm& model, const BlockDrops& drops, const std::string& dir,
                                   const nlohmann::json& plan = nullptr);

// Method "depth" for the registry: depth_counts(), the least influential blocks on the calibration
// data dropped, the checkpoint written.
PruneMethod depth_method();

}  // namespace ps
