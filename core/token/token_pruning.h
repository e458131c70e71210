// Run-time token pruning: after chosen blocks the least important tokens leave the sequence, so
// every later block runs on fewer tokens. Vision towers keep a ratio of their patch tokens (a [CLS]
// always stays; Qwen2-VL's leave in 2 x 2 groups, per image, and their image tokens leave the
// prompt; LLaVA-1.5's leave the prompt one for one, or VisionZip merges them); before the language
// model each image's tokens may be chosen by an attention-free rule (random, DART, DivPrune);
// decoders keep a ratio of their image tokens after chosen layers (FastV: one, PyramidDrop: one per
// stage) and every text token; a dual encoder's text tower keeps a ratio of its tokens but [CLS].
// Installed on a Vlm as its token hook, so evaluation, recovery and the CLI all see the pruned sequence.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <ATen/ATen.h>

#include "core/model/vlm.h"
#include "core/token/token_importance.h"
#include "core/token/token_options.h"

namespace ps {

enum class TokenSelect { None, Random, Dart, DivPrune };

struct TokenPruning {
    TokenOptions source;             // the Plan's section it was made from (source.method: the registered method, or "")
    TokenMetric metric = TokenMetric::Cls;
    std::map<int, double> vision;    // vision block -> keep ratio of the patch tokens after it
    std::map<int, double> language;  // language block -> keep ratio of the image tokens after it
    double contextual = 0;           // > 0: VisionZip at the vision blocks, this share of the kept tokens merged
    TokenSelect select = TokenSelect::None;  // each image's tokens chosen before the language model
    double select_keep = 1.0;
    uint64_t seed = 0;
    int64_t pivots = 8;

    // The Plan's tokens section for `model`: a method resolved to its blocks (FasterVLM and VisionZip
    // at the vision tower's last block, FastV after layer 2, PyramidDrop at the end of each stage
    // but the last, each dropping keep^(1/(stages-1))). Throws ps::Error naming the field when the
    // model has no such tower or block.
    static TokenPruning from_plan(const TokenOptions& t, const Vlm& model);
    bool active() const;  // anything dropped at all
    // The Plan's section that gives this pruning: `source` for a method, else the blocks by hand
    // (one language block at most).
    TokenOptions to_plan() const;
};

// How many of `candidates` tokens a keep ratio leaves: round(keep · candidates), at least 1.
int64_t kept_tokens(int64_t candidates, double keep);

// Keeps the tokens `index` [B,K] (ascending per row) of every per-token tensor of `s`: hidden
// states, attention bias (query and key axes), rotary tables, position ids, image slots, prompt
// indices and DeepStack features; the attention segments shrink to the tokens they keep.
void keep_tokens(StageState& s, const at::Tensor& index);

// The importance of each token of `s` after `block` of `tower` from that block's attention `probs`,
// by `metric` as that tower supports it: [B,N]. With TokenMetric::Cim, heads whose output
// projection columns are all zero (structurally pruned) are masked out.
at::Tensor token_scores(const Vlm& model, int tower, int block, const StageState& s, const at::Tensor& probs,
                        TokenMetric metric);

// Installs `p` as the model's token hook (an inactive `p` removes it). Throws ps::Error naming the
// field when the model cannot prune tokens that way: a block outside the tower, vision-tower
// pruning where the prompt's image tokens do not follow the vision tokens (tiles, pixel shuffle,
// pooling), VisionZip anywhere but the vision tower's last block, selection before the language
// model without image tokens in it, the text metric off a decoder, the cls metric on a vision
// tower without [CLS].
void install_token_pruning(Vlm& model, const TokenPruning& p);

// Why the cls metric does not apply to `model`'s vision tower (Capabilities::vision_cls).
std::string no_cls_token(const Vlm& model);

// Why text-guided importance (last prompt token -> image tokens) does not apply to `model`: it needs
// image tokens in the language sequence (Capabilities::image_tokens_in_language).
std::string text_guided_unavailable(const Vlm& model);

}  // namespace ps
