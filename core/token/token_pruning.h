// Run-time token pruning: after chosen blocks the least important tokens leave the sequence, so
// every later block runs on fewer tokens. Vision towers keep a ratio of their patch tokens (a [CLS]
// always stays; Qwen2-VL's leave in 2 x 2 groups, per image, and their image tokens leave the
// prompt); LLaVA's decoder keeps a ratio of its image tokens after a chosen layer (FastV) and
// every text token; a dual encoder's text tower keeps a ratio of its tokens but [CLS]. Installed
// on a Vlm as its token hook, so evaluation, recovery and the CLI all see the pruned sequence.
#pragma once
#include <cstdint>
#include <map>

#include <ATen/ATen.h>

#include "core/model/vlm.h"
#include "core/token/token_importance.h"
#include "core/token/token_options.h"

namespace ps {

struct TokenPruning {
    TokenMetric metric = TokenMetric::Cls;
    std::map<int, double> vision;  // vision block -> keep ratio of the patch tokens after it
    int language_after = -1;       // -1: the language tower keeps every token
    double language_keep = 1.0;

    static TokenPruning from_plan(const TokenOptions& t);
    bool active() const;  // anything dropped at all
};

// How many of `candidates` tokens a keep ratio leaves: round(keep · candidates), at least 1.
int64_t kept_tokens(int64_t candidates, double keep);

// Keeps the tokens `index` [B,K] (ascending per row) of every per-token tensor of `s`: hidden
// states, attention bias (query and key axes), rotary tables, position ids, image slots and
// DeepStack features; the attention segments shrink to the tokens they keep.
void keep_tokens(StageState& s, const at::Tensor& index);

// The importance of each token of `s` after `block` of `tower` from that block's attention `probs`,
// by `metric` as that tower supports it: [B,N]. With TokenMetric::Cim, heads whose output
// projection columns are all zero (structurally pruned) are masked out.
at::Tensor token_scores(const Vlm& model, int tower, int block, const StageState& s, const at::Tensor& probs,
                        TokenMetric metric);

// Installs `p` as the model's token hook (an inactive `p` removes it). Throws ps::Error naming the
// field when the model cannot prune tokens that way: a block outside the tower, vision-tower
// pruning in LLaVA (its image-token count is fixed by the prompt), the text metric off LLaVA, the
// cls metric on a vision tower without [CLS].
void install_token_pruning(Vlm& model, const TokenPruning& p);

// Why the cls metric does not apply to `model`'s vision tower (Capabilities::vision_cls).
std::string no_cls_token(const Vlm& model);

// Why text-guided importance (last prompt token -> image tokens) does not apply to `model`: it needs
// image tokens in the language sequence (Capabilities::image_tokens_in_language).
std::string text_guided_unavailable(const Vlm& model);

}  // namespace ps
