// The LLaMA decoder (LlamaModel / LlamaForCausalLM) as pieces over a StageState, so decoder-based
// families share one implementation: config with LlamaConfig defaults, rotary tables (Qwen2-VL's
// multimodal rotary too), the pre-norm GQA/SwiGLU block (with an optional KV cache for
// generation), final norm and output head. Qwen2 is this decoder with biases on q, k and v, Qwen3
// with RMSNorm on each head's queries and keys. Every piece takes the prefix of its module, e.g.
// "model.language_model.".
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/causal_vlm.h"
#include "core/model/config_reader.h"
#include "core/model/vlm.h"

namespace ps {

struct LlamaConfig {
    int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
    int64_t vocab = 0, max_positions = 0;
    double eps = 1e-6, rope_theta = 10000.0, rope_linear_factor = 1.0;
    std::string act;
    bool attention_bias = false, mlp_bias = false, tie_word_embeddings = false;
    bool qkv_bias = false;  // q, k and v with biases, o without (Qwen2)
    bool qk_norm = false;   // RMSNorm over each head of q and k before the rotary (Qwen3: self_attn.q_norm, k_norm)
    // Qwen2-VL's multimodal rotary: the rotary frequencies split into sections for the (time, row,
    // column) position ids, in that order; empty for one position id per token. Interleaved
    // (Qwen3-VL): frequency j turns with the row where j % 3 == 1 and j < 3 x the row section, with
    // the column where j % 3 == 2 and j < 3 x the column section, else with the time.
    std::vector<int64_t> mrope_section;
    bool mrope_interleaved = false;
    // Mistral's and Gemma 3's sliding window (0: none): not applied, so a sequence longer than it is
    // refused (every key within it is what sliding-window attention sees).
    int64_t sliding_window = 0;
    // Gemma 3 (gemma3_text): RMSNorms scale by 1 + weight in float32; the attention's and the MLP's
    // outputs are normed before their residual (post_attention_layernorm, post_feedforward_layernorm)
    // and pre_feedforward_layernorm comes before the MLP; q/k norms; token embeddings times
    // sqrt(hidden); attention scaled by query_pre_attn_scalar^-1/2; the layers in local_layers
    // (sliding_attention) turn their rotary at rope_local_theta without scaling. Gemma 3's VLM also
    // lets image tokens attend to every token of their image in the prompt's pass
    // (bidirectional_images).
    bool gemma = false;
    double query_pre_attn_scalar = 0;  // 0: head_dim
    double rope_local_theta = 10000.0;
    std::vector<bool> local_layers;
    bool bidirectional_images = false;
    double final_logit_softcapping = 0;  // > 0: logits = cap * tanh(logits / cap)
};
// LlamaConfig defaults; throws ps::Error naming `config_path` for unsupported rope_scaling types.
LlamaConfig llama_config(const ConfigReader& c, const std::string& config_path);
// The decoder of a multimodal config.json as transformers builds it: text_config over the defaults
// of its model_type's config class (`default_type` when it names none; LLaMA's defaults are
// llama_config's own). Mistral keeps its sliding window, which sequences may not outgrow; Qwen2 has
// q/k/v biases and refuses its sliding window; Gemma 3 (gemma3_text) sets LlamaConfig's Gemma fields
// and keeps its sliding window likewise. Throws ps::Error naming `config_path` for another type.
LlamaConfig multimodal_text_config(const nlohmann::json& config, const std::string& config_path, const std::string& default_type);

// Keys and values seen so far by one layer, [B,Hkv,S,d] each; empty before the first step.
struct LayerCache {
    at::Tensor k, v;
    // Appends this step's keys and values; they become the whole cache's.
    void append(at::Tensor& keys, at::Tensor& values);
};
// Attention outputs [B,H,Q,d] of queries that may attend to nothing under `bias` (left padding)
// set to zero, as transformers' SDPA path gives them, and their probabilities too.
at::Tensor zero_unattended(at::Tensor o, const at::Tensor& bias, at::Tensor* probs);

// cos/sin [B,T,head_dim] for position ids [B,T] (or [B,T,3] with mrope_section: frequency j turns
// with the position id of its section), computed in float32 as LlamaRotaryEmbedding does and cast
// to `dtype`.
std::pair<at::Tensor, at::Tensor> llama_rotary(const LlamaConfig& c, const at::Tensor& positions, at::ScalarType dtype);

// Additive mask [B,1,Q,K] for queries at key positions K-Q..K-1: causal, and keys where the 0/1
// `attention_mask` [B,K] is 0 (undefined: none) are masked with the dtype's most negative finite
// value. A query that may attend to nothing (left padding) gets an all-masked row; the block gives
// such rows a zero attention output, as transformers' SDPA path does.
at::Tensor llama_attention_bias(const at::Tensor& attention_mask, int64_t batch, int64_t q_len, int64_t k_len,
                                at::ScalarType dtype, at::Device device);

// Starts the decoder on input embeddings [B,T,D] at position ids [B,T] or [1,T] ([B,T,3] for a
// multimodal rotary; transformers' forward uses 0..T-1 for every row; generation derives them from the attention mask), after
// `past` cached tokens; `attention_mask` [B,past+T] 0/1 may be undefined (no padding). With
// bidirectional_images, `image_slots` [B,T] (the prompt's image tokens; undefined: none) lets each
// run of image tokens attend to the whole run.
StageState llama_start(const LlamaConfig& c, const at::Tensor& inputs_embeds, const at::Tensor& attention_mask,
                       const at::Tensor& positions, int64_t past = 0, const at::Tensor& image_slots = {});

// Decoder layer `layer`; `p` is the LlamaModel prefix (holding layers.<layer>.). With `cache`, this
// step's keys and values are appended to it and the queries attend over the whole cache (s.bias
// then spans it).
void llama_decoder_block(const WeightStore& w, const std::string& p, int64_t layer, const LlamaConfig& c, StageState& s,
                         at::Tensor* probs = nullptr, LayerCache* cache = nullptr);

// Qwen3-VL's DeepStack: after decoder layer `layer`, the state's features for that layer
// (s.deepstack[layer], zero off the image tokens) are added to its hidden states; layers past
// them are left as they are.
void llama_deepstack(StageState& s, int64_t layer);

// embed_tokens, final norm and lm_head; `p` is the LlamaModel prefix (holding embed_tokens,
// layers, norm), `head` the lm_head weight name (embed_tokens stands in when tied and absent).
at::Tensor llama_embed_tokens(const WeightStore& w, const std::string& p, const LlamaConfig& c, const at::Tensor& ids);
at::Tensor llama_final_norm(const WeightStore& w, const std::string& p, const LlamaConfig& c, const at::Tensor& hidden);
at::Tensor llama_logits(const WeightStore& w, const std::string& p, const std::string& head, const LlamaConfig& c,
                        const at::Tensor& hidden);

// Run-time token pruning in the prompt's pass (FastV, PyramidDrop): the model's token hook, acting
// after one or more layers of its language tower `tower`, with the prompt's image-token slots [B,T]
// it chooses among. The layers after each drop keep the shorter cache; every new token is kept.
struct PromptPruning {
    const TokenHook* hook = nullptr;
    int tower = -1;
    at::Tensor image_slots;
};

// Greedy decoding with a KV cache from input embeddings [B,T,D] (left padding marked by the 0/1
// `attention_mask` [B,T], undefined: none), as transformers' generate(do_sample=False): for each
// row, the new token ids, ending with `eos` where it was produced. `positions` are the prompt's
// position ids (undefined: counted over the attended tokens); each new token takes the next after
// the row's largest. `p` and `head` as in llama_logits; `on_step` (may be empty) sees the tokens
// after every step; `pruning` drops prompt tokens after its layers; `deepstack` [B,T,D] per layer are
// added to the prompt's hidden states after the first layers (llama_deepstack), and then need
// `pruning.image_slots` (no prompt prefix holding image tokens is shared between rows).
// A decoder's stages as greedy decoding runs them (LLaMA's: llama_steps; OPT's: core/model/opt.h).
struct DecoderSteps {
    int64_t layers = 0;
    bool bidirectional_images = false;  // the prompt's image tokens attend both ways (start needs whole images)
    // llama_start's contract: embeddings [B,T,D] after `past` cached tokens, the mask over all of
    // them, position ids, and the prompt's image slots (undefined after the prompt).
    std::function<StageState(const at::Tensor& embeds, const at::Tensor& mask, const at::Tensor& positions, int64_t past,
                             const at::Tensor& image_slots)>
        start;
    std::function<void(int64_t layer, StageState& s, at::Tensor* probs, LayerCache* cache)> block;
    std::function<at::Tensor(const at::Tensor& hidden)> logits;  // final norm and head
    std::function<at::Tensor(const at::Tensor& ids)> embed;      // token embeddings
};
DecoderSteps llama_steps(const WeightStore& w, const std::string& p, const std::string& head, const LlamaConfig& c);
// llama_generate's decoding for any decoder.
std::vector<std::vector<int64_t>> decoder_generate(const DecoderSteps& d, const at::Tensor& inputs_embeds,
                                                   const at::Tensor& attention_mask, int max_new_tokens, std::optional<int64_t> eos,
                                                   const TokenStep& on_step, const at::Tensor& prompt_positions = {},
                                                   const PromptPruning& pruning = {}, const std::vector<at::Tensor>& deepstack = {});
std::vector<std::vector<int64_t>> llama_generate(const WeightStore& w, const std::string& p, const std::string& head,
                                                 const LlamaConfig& c, const at::Tensor& inputs_embeds,
                                                 const at::Tensor& attention_mask, int max_new_tokens,
                                                 std::optional<int64_t> eos, const TokenStep& on_step,
                                                 const at::Tensor& positions = {}, const PromptPruning& pruning = {},
                                                 const std::vector<at::Tensor>& deepstack = {});

}  // namespace ps
