// Token importance from the attention probabilities [B,H,N,N] of one block: how much the model
// relies on each token there. Every score is [B,K] over candidate tokens, higher = more important.
// The metrics: [CLS]-attention (ViT/CLIP), attention received (column sums), FastV's text-guided
// score (the last prompt token's attention, LLaVA), and CoMP's collaborative token importance,
// which discounts pruned attention heads by masking the attention itself rather than the weights.
#pragma once
#include <string>

#include <ATen/ATen.h>

namespace ps {

enum class TokenMetric { Cls, Received, Text, Cim };
// "cls" | "received" | "text" | "cim"; throws ps::Error naming the field otherwise.
TokenMetric parse_token_metric(const std::string& s);
const char* token_metric_name(TokenMetric m);

// Row 0 ([CLS] as query), mean over heads, keys 1..N-1: [B,N-1].
at::Tensor cls_attention(const at::Tensor& probs);
// Column sums over the queries, mean over heads: [B,N].
at::Tensor attention_received(const at::Tensor& probs);
// The last query's attention to every key, mean over heads: [B,N] (FastV's text-guided score
// when the last token is the end of the prompt). `last` [B] (optional) names each row's last
// token, where right padding follows it.
at::Tensor last_token_attention(const at::Tensor& probs, const at::Tensor& last = {});
// CoMP's CIT: S_i = Σ_n max_h (A_h · m_h)[n,i] with m [H] the 0/1 head mask (undefined: all
// heads), normalised to sum 1 over the keys: [B,N]. A pruned head drops out of the max instead of
// entering it with the near-uniform attention its zeroed weights would give.
at::Tensor collaborative_token_importance(const at::Tensor& probs, const at::Tensor& head_mask);
// CoMP's CIP input norms: per column j, sqrt(Σ_{b,n} ω_{b,n} x²_{b,n,j}) over x [B,N,D], with
// ω = 1 for the [CLS] token (index 0, when `has_cls`) and importance / Σ importance over the other
// tokens of each sample, so those together weigh as much as [CLS]. importance [B,N]. Returns [D].
at::Tensor token_weighted_column_norms(const at::Tensor& x, const at::Tensor& importance, bool has_cls);

// The heads of one block that still contribute: 1 where the output projection `o_weight` [D, H·d]
// has a nonzero column among the head's d columns, 0 where structured pruning zeroed them all. [H]
at::Tensor live_heads(const at::Tensor& o_weight, int64_t heads);

}  // namespace ps
