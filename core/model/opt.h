// The OPT decoder (OPTForCausalLM, BLIP-2's language model) as pieces over a StageState, like
// core/model/llama.h's: config with OPTConfig defaults, learned positions (offset 2, counted over
// the attended tokens), pre-norm LayerNorm blocks with biased projections and a ReLU MLP, the final
// layer norm, the tied head, and greedy generation through decoder_generate. OPT-350m's layout
// (post-norm blocks, project_in / project_out) is refused. Every piece takes the decoder's prefix,
// e.g. "language_model.model.decoder.".
#pragma once
#include <string>

#include "core/model/config_reader.h"
#include "core/model/llama.h"

namespace ps {

struct OptConfig {
    int64_t hidden = 768, ffn = 3072, layers = 12, heads = 12, vocab = 50272, max_positions = 2048;
    bool final_norm = true, bias = true, tie_word_embeddings = true;
    std::string act = "relu";
};
// OPTConfig over its defaults, from text_config (`c`); throws ps::Error naming `config_path`.
OptConfig opt_config(const ConfigReader& c, const std::string& config_path);

// Token embeddings [B,T,hidden] of `ids`.
at::Tensor opt_embed_tokens(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& ids);
// The decoder's input: embeddings plus the learned positions of position ids
// [B,T], with the causal and padding mask over `past` cached tokens and these.
StageState opt_start(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& inputs_embeds,
                     const at::Tensor& attention_mask, const at::Tensor& positions, int64_t past = 0);
// OPT's position ids in a forward pass: the count of attended tokens so far, -1 on padding.
at::Tensor opt_positions(const at::Tensor& attention_mask);
// Decoder layer `layer`, with an optional KV cache as llama_decoder_block's.
void opt_decoder_block(const WeightStore& w, const std::string& p, int64_t layer, const OptConfig& c, StageState& s,
                       at::Tensor* probs = nullptr, LayerCache* cache = nullptr);
// The final layer norm, then the head `head` (the token embeddings when tied and absent).
at::Tensor opt_final(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& hidden);
at::Tensor opt_logits(const WeightStore& w, const std::string& p, const std::string& head, const OptConfig& c,
                      const at::Tensor& hidden);
DecoderSteps opt_steps(const WeightStore& w, const std::string& p, const std::string& head, const OptConfig& c);

}  // namespace ps
