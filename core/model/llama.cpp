#include "core/model/llama.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

LlamaConfig llama_config(const ConfigReader& c, const std::string& config_path) {
    LlamaConfig l;
    l.hidden = c.integer("hidden_size", 4096);
    l.intermediate = c.integer("intermediate_size", 11008);
    l.layers = c.integer("num_hidden_layers", 32);
    l.heads = c.integer("num_attention_heads", 32);
    for (const auto& [key, v] : {std::pair<const char*, int64_t>{"hidden_size", l.hidden}, {"intermediate_size", l.intermediate},
                                 {"num_hidden_layers", l.layers}, {"num_attention_heads", l.heads}})
        if (v <= 0) throw Error(config_path, std::string(key) + " must be positive, not " + std::to_string(v));
    l.kv_heads = c.integer("num_key_value_heads", l.heads);
    l.head_dim = c.integer("head_dim", l.hidden / l.heads);
    if (l.head_dim <= 0 || l.head_dim % 2)
        throw Error(config_path, "head_dim " + std::to_string(l.head_dim) + " must be positive and even (rotary pairs)");
    l.vocab = c.integer("vocab_size", 32000);
    if (l.vocab <= 0) throw Error(config_path, "vocab_size must be positive, not " + std::to_string(l.vocab));
    l.max_positions = c.integer("max_position_embeddings", 2048);
    l.eps = c.number("rms_norm_eps", 1e-6);
    l.rope_theta = c.number("rope_theta", 10000.0);
    l.act = c.string("hidden_act", "silu");
    l.attention_bias = c.boolean("attention_bias", false);
    l.mlp_bias = c.boolean("mlp_bias", false);
    l.tie_word_embeddings = c.boolean("tie_word_embeddings", false);
    if (l.kv_heads <= 0 || l.heads % l.kv_heads != 0)
        throw Error(config_path, "num_attention_heads " + std::to_string(l.heads) +
                                     " is not a multiple of num_key_value_heads " + std::to_string(l.kv_heads));
    if (c.has("rope_scaling")) {
        const ConfigReader r = c.sub("rope_scaling");
        const std::string type = r.string("rope_type", r.string("type", "default"));
        l.mrope_section = r.integers("mrope_section", {});
        if (!l.mrope_section.empty()) {
            int64_t sum = 0;
            bool negative = false;
            for (int64_t v : l.mrope_section) {
                sum += v;
                negative = negative || v < 0;
            }
            if (l.mrope_section.size() != 3 || negative || 2 * sum != l.head_dim)
                throw Error(config_path, "rope_scaling.mrope_section must be three sections adding up to head_dim / 2 = " +
                                             std::to_string(l.head_dim / 2));
        }
        if (type == "mrope" && l.mrope_section.empty()) throw Error(config_path, "rope_scaling of type \"mrope\" has no \"mrope_section\"");
        if (type == "linear") {
            if (!r.has("factor")) throw Error(config_path, "rope_scaling of type \"linear\" has no \"factor\"");
            l.rope_linear_factor = r.number("factor", 1.0);
        } else if (type != "default" && type != "mrope") {
            throw Error(config_path, "rope_scaling type \"" + type + "\" is not supported (default, linear and mrope are)");
        }
    }
    return l;
}

namespace {

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    return add_into(x * cos.unsqueeze(1), mul_into(rotate_half(x), sin.unsqueeze(1)));
}

at::Tensor proj(const WeightStore& w, const std::string& name, const at::Tensor& x, int64_t out, int64_t in, bool bias) {
    return w.linear(name, x, out, in, bias);
}

// The decoder's RMSNorm: LLaMA's or Gemma's.
at::Tensor norm(const LlamaConfig& c, const at::Tensor& x, const at::Tensor& weight) {
    return c.gemma ? gemma_rms_norm(x, weight, c.eps) : rms_norm(x, weight, c.eps);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> llama_rotary(const LlamaConfig& c, const at::Tensor& positions, at::ScalarType dtype) {
    // inv_freq as transformers builds it at init (on the CPU, in float32), then moved.
    at::Tensor exponent = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
    at::Tensor inv_freq = 1.0 / at::pow(c.rope_theta, exponent);
    if (c.rope_linear_factor != 1.0) inv_freq = inv_freq / c.rope_linear_factor;
    inv_freq = inv_freq.to(positions.device());
    at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B,T,d/2], or [B,T,3,d/2]
    if (!c.mrope_section.empty()) {
        if (positions.dim() != 3 || positions.size(2) != 3) throw Error("rotary", "a multimodal rotary takes position ids [B,T,3]");
        // The position axis (time, row, column) each frequency turns with.
        const int64_t half = c.head_dim / 2;
        std::vector<int64_t> axis(static_cast<size_t>(half), 0);
        for (int64_t j = 0, from = 0, a = 0; j < half; ++j) {
            if (c.mrope_interleaved) {
                const int64_t r = j % 3;
                axis[j] = r > 0 && j < 3 * c.mrope_section[r] ? r : 0;
                continue;
            }
            while (a < 2 && j >= from + c.mrope_section[a]) from += c.mrope_section[a++];
            axis[j] = a;
        }
        const at::Tensor index = at::tensor(axis, at::kLong).to(freqs.device()).view({1, 1, 1, half});
        freqs = freqs.gather(2, index.expand({freqs.size(0), freqs.size(1), 1, half})).squeeze(2);
    }
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor llama_attention_bias(const at::Tensor& attention_mask, int64_t batch, int64_t q_len, int64_t k_len,
                                at::ScalarType dtype, at::Device device) {
    const auto longs = at::TensorOptions().dtype(at::kLong).device(device);
    at::Tensor q_pos = at::arange(k_len - q_len, k_len, longs).view({1, 1, q_len, 1});
    at::Tensor k_pos = at::arange(k_len, longs).view({1, 1, 1, k_len});
    at::Tensor allowed = k_pos <= q_pos;
    if (attention_mask.defined())
        allowed = allowed.logical_and(attention_mask.to(device).to(at::kBool).view({batch, 1, 1, k_len}));
    allowed = allowed.expand({batch, 1, q_len, k_len});
    return at::zeros(allowed.sizes(), longs.dtype(dtype)).masked_fill(allowed.logical_not(), masked_value(dtype));
}

StageState llama_start(const LlamaConfig& c, const at::Tensor& inputs_embeds, const at::Tensor& attention_mask,
                       const at::Tensor& positions, int64_t past, const at::Tensor& image_slots) {
    if (c.sliding_window > 0 && past + inputs_embeds.size(1) > c.sliding_window)
        throw Error("input_ids", std::to_string(past + inputs_embeds.size(1)) + " tokens are more than the decoder's sliding window of " +
                                     std::to_string(c.sliding_window) + " (sliding-window attention is not supported)");
    StageState s;
    s.hidden = inputs_embeds;
    s.positions = positions.to(inputs_embeds.device());
    std::tie(s.cos, s.sin) = llama_rotary(c, s.positions, inputs_embeds.scalar_type());
    const int64_t len = inputs_embeds.size(1);
    s.bias = llama_attention_bias(attention_mask, inputs_embeds.size(0), len, past + len, inputs_embeds.scalar_type(),
                                  inputs_embeds.device());
    if (c.bidirectional_images && image_slots.defined()) {
        // Gemma 3: each run of image tokens is one image, whose tokens see each other both ways
        // (the `past` cached tokens before them hold none).
        const at::Tensor image = image_slots.to(inputs_embeds.device());
        const at::Tensor starts = image.logical_and(at::constant_pad_nd(image, {1, 0}, 0).slice(1, 0, -1).logical_not());
        const at::Tensor group = (starts.to(at::kLong).cumsum(1) - 1).masked_fill(image.logical_not(), -1);
        const at::Tensor same = (group.unsqueeze(2) == group.unsqueeze(1)).logical_and(group.unsqueeze(2) >= 0).unsqueeze(1);
        s.bias = s.bias.masked_fill(at::constant_pad_nd(same, {past, 0}, 0).to(at::kBool), 0);
    }
    return s;
}

void llama_decoder_block(const WeightStore& w, const std::string& model, int64_t layer, const LlamaConfig& c, StageState& s,
                         at::Tensor* probs, LayerCache* cache) {
    const std::string p = model + "layers." + std::to_string(layer) + ".", a = p + "self_attn.", m = p + "mlp.";
    // Head counts and MLP width come from this block's own weights (structured pruning shrinks them).
    const int64_t qd = w.coupled_width({a + "q_proj.weight"}, {a + "o_proj.weight"}, c.heads * c.head_dim);
    const int64_t kvd = w.coupled_width({a + "k_proj.weight", a + "v_proj.weight"}, {}, c.kv_heads * c.head_dim);
    const int64_t inter = w.coupled_width({m + "gate_proj.weight", m + "up_proj.weight"}, {m + "down_proj.weight"}, c.intermediate);
    const int64_t heads = qd / c.head_dim, kv_heads = kvd / c.head_dim;
    if (qd % c.head_dim || kvd % c.head_dim || kv_heads == 0 || heads % kv_heads)
        throw Error(w.checkpoint().dir(), a + ": " + std::to_string(qd) + " query and " + std::to_string(kvd) +
                                              " key rows are not whole groups of heads of " + std::to_string(c.head_dim));
    at::Tensor x = norm(c, s.hidden, w.get(p + "input_layernorm.weight", {c.hidden}));
    const bool qkv_bias = c.attention_bias || c.qkv_bias;
    at::Tensor q = split_heads(proj(w, a + "q_proj", x, qd, c.hidden, qkv_bias), heads);
    at::Tensor k = split_heads(proj(w, a + "k_proj", x, kvd, c.hidden, qkv_bias), kv_heads);
    at::Tensor v = split_heads(proj(w, a + "v_proj", x, kvd, c.hidden, qkv_bias), kv_heads);
    x.reset();
    if (c.qk_norm) {
        q = norm(c, q, w.get(a + "q_norm.weight", {c.head_dim}));
        k = norm(c, k, w.get(a + "k_norm.weight", {c.head_dim}));
    }
    if (layer < static_cast<int64_t>(c.local_layers.size()) && c.local_layers[layer]) {  // Gemma 3's local rotary
        LlamaConfig local = c;
        local.rope_theta = c.rope_local_theta;
        local.rope_linear_factor = 1.0;
        const auto [cos, sin] = llama_rotary(local, s.positions, q.scalar_type());
        q = apply_rotary(q, cos, sin);
        k = apply_rotary(k, cos, sin);
    } else {
        q = apply_rotary(q, s.cos, s.sin);
        k = apply_rotary(k, s.cos, s.sin);
    }
    if (cache) cache->append(k, v);
    const double scale = std::pow(c.query_pre_attn_scalar > 0 ? c.query_pre_attn_scalar : static_cast<double>(c.head_dim), -0.5);
    at::Tensor o = attention(q, k, v, s.bias, scale, probs);
    q.reset();  // the block's temporaries go as soon as they are used
    k.reset();
    v.reset();
    o = zero_unattended(std::move(o), s.bias, probs);
    o = merge_heads(o);
    o = proj(w, a + "o_proj", o, c.hidden, qd, c.attention_bias);
    if (c.gemma) o = norm(c, o, w.get(p + "post_attention_layernorm.weight", {c.hidden}));
    const at::Tensor h = add_into(std::move(o), s.hidden);
    x = norm(c, h, w.get(p + (c.gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), {c.hidden}));
    at::Tensor gate = activation_into(proj(w, m + "gate_proj", x, inter, c.hidden, c.mlp_bias), c.act);
    x = mul_into(std::move(gate), proj(w, m + "up_proj", x, inter, c.hidden, c.mlp_bias));
    x = proj(w, m + "down_proj", x, c.hidden, inter, c.mlp_bias);
    if (c.gemma) x = norm(c, x, w.get(p + "post_feedforward_layernorm.weight", {c.hidden}));
    s.hidden = add_into(std::move(x), h);
}

void LayerCache::append(at::Tensor& keys, at::Tensor& values) {
    if (k.defined()) {
        keys = at::cat({k, keys}, 2);
        values = at::cat({v, values}, 2);
    }
    k = keys;
    v = values;
}

at::Tensor zero_unattended(at::Tensor o, const at::Tensor& bias, at::Tensor* probs) {
    if (!bias.defined()) return o;
    const at::Tensor attends = (bias.amax(-1, /*keepdim=*/true) > masked_value(bias.scalar_type())).to(o.scalar_type());
    if (probs) *probs = *probs * attends;
    return mul_into(std::move(o), attends);
}

void llama_deepstack(StageState& s, int64_t layer) {
    if (layer < static_cast<int64_t>(s.deepstack.size())) s.hidden = s.hidden + s.deepstack[layer].to(s.hidden.scalar_type());
}

at::Tensor llama_embed_tokens(const WeightStore& w, const std::string& p, const LlamaConfig& c, const at::Tensor& ids) {
    const at::Tensor x = at::embedding(w.get(p + "embed_tokens.weight", {c.vocab, c.hidden}), ids.to(w.device()));
    if (!c.gemma) return x;
    // Gemma3TextScaledWordEmbedding: sqrt(hidden) in float32, cast to the weights' dtype.
    return x * at::scalar_tensor(std::sqrt(static_cast<double>(c.hidden)), at::kFloat).to(x.scalar_type());
}

at::Tensor llama_final_norm(const WeightStore& w, const std::string& p, const LlamaConfig& c, const at::Tensor& hidden) {
    return norm(c, hidden, w.get(p + "norm.weight", {c.hidden}));
}

at::Tensor llama_logits(const WeightStore& w, const std::string& p, const std::string& head, const LlamaConfig& c,
                        const at::Tensor& hidden) {
    const std::string name = c.tie_word_embeddings && !w.has(head) ? p + "embed_tokens.weight" : head;
    const at::Tensor logits = at::linear(hidden, w.get(name, {c.vocab, c.hidden}));
    if (c.final_logit_softcapping <= 0) return logits;
    return at::tanh(logits / c.final_logit_softcapping) * c.final_logit_softcapping;
}

std::vector<std::vector<int64_t>> decoder_generate(const DecoderSteps& d, const at::Tensor& inputs_embeds,
                                                   const at::Tensor& attention_mask, int max_new_tokens, std::optional<int64_t> eos,
                                                   const TokenStep& on_step, const at::Tensor& prompt_positions,
                                                   const PromptPruning& pruning, const std::vector<at::Tensor>& deepstack) {
    at::NoGradGuard no_grad;
    const int64_t batch = inputs_embeds.size(0);
    const auto longs = at::TensorOptions().dtype(at::kLong).device(inputs_embeds.device());
    at::Tensor mask = attention_mask.defined() ? attention_mask.to(longs)
                                               : at::ones({batch, inputs_embeds.size(1)}, longs);
    // Position ids as GenerationMixin derives them: count of attended tokens so far (1 on padding).
    const at::Tensor positions = prompt_positions.defined() ? prompt_positions.to(longs)
                                                            : (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1);
    // Each new token's position: one after the row's largest so far (the count of attended tokens
    // for plain positions), the same for every axis of a multimodal rotary.
    const at::Tensor padding = positions.dim() == 3 ? (mask == 0).unsqueeze(-1) : (mask == 0);
    at::Tensor next_position = positions.masked_fill(padding, -1).reshape({batch, -1}).amax(-1, /*keepdim=*/true) + 1;  // [B,1]
    std::vector<LayerCache> cache(d.layers);

    // Rows that begin with the same attended inputs (a chat template's system prompt, unpadded) have
    // the same keys and values there: that prefix runs once, for the first row, and its cache serves
    // every row; the rest of the prompt runs for the whole batch after it.
    const int64_t len = inputs_embeds.size(1);
    std::vector<bool> drops(d.layers, false);  // the layers after which the prompt's pass drops tokens
    bool dropping = false;
    if (pruning.hook && pruning.hook->apply)
        for (int64_t i = 0; i < d.layers; ++i)
            if (pruning.hook->after.count({pruning.tower, static_cast<int>(i)})) dropping = drops[i] = true;
    int64_t shared = 0;
    if (batch > 1 && !dropping) {  // pruning chooses among the whole prompt's tokens
        const at::Tensor same = (inputs_embeds == inputs_embeds.slice(0, 0, 1)).all(-1).logical_and(mask != 0).all(0);  // [T]
        const at::Tensor differ = same.logical_not().nonzero();
        shared = std::min<int64_t>(differ.numel() ? differ[0][0].item<int64_t>() : len, len - 1);
        if (!deepstack.empty() || d.bidirectional_images) {  // the shared prefix ends before the first image token
            const at::Tensor images = pruning.image_slots.any(0).nonzero();
            if (images.numel()) shared = std::min(shared, images[0][0].item<int64_t>());
        }
    }
    if (shared > 1) {
        StageState prefix = d.start(inputs_embeds.slice(0, 0, 1).slice(1, 0, shared), mask.slice(0, 0, 1).slice(1, 0, shared),
                                    positions.slice(0, 0, 1).slice(1, 0, shared), 0, {});
        for (int64_t i = 0; i < d.layers; ++i) d.block(i, prefix, nullptr, &cache[i]);
        for (LayerCache& lc : cache) {
            lc.k = lc.k.expand({batch, lc.k.size(1), lc.k.size(2), lc.k.size(3)});
            lc.v = lc.v.expand({batch, lc.v.size(1), lc.v.size(2), lc.v.size(3)});
        }
    } else {
        shared = 0;
    }
    StageState s = d.start(inputs_embeds.slice(1, shared), mask, positions.slice(1, shared), shared,
                           pruning.image_slots.defined() ? pruning.image_slots.slice(1, shared) : at::Tensor());
    if (dropping) s.image_slots = pruning.image_slots.to(inputs_embeds.device()).slice(1, shared);
    for (const at::Tensor& f : deepstack) s.deepstack.push_back(f.slice(1, shared));
    std::map<int64_t, at::Tensor> kept_mask;  // layer after a drop -> [B,S] the keys its cache holds, and the layers' up to the next

    std::vector<std::vector<int64_t>> out(batch);
    std::vector<bool> finished(batch, false);
    for (int step = 0; step < max_new_tokens; ++step) {
        for (int64_t i = 0; i < d.layers; ++i) {
            if (step > 0 && kept_mask.count(i))
                s.bias = llama_attention_bias(kept_mask[i], batch, 1, kept_mask[i].size(1), s.hidden.scalar_type(), s.hidden.device());
            const bool drop_here = step == 0 && drops[i];
            at::Tensor probs;
            d.block(i, s, drop_here ? &probs : nullptr, &cache[i]);
            llama_deepstack(s, i);  // the prompt's pass only: a new token's state has none
            if (drop_here) {
                pruning.hook->apply(pruning.tower, static_cast<int>(i), s, probs);
                if (i + 1 < d.layers) kept_mask[i + 1] = attended_keys(s.bias).to(mask.scalar_type());
            }
        }
        at::Tensor next = d.logits(s.hidden.slice(1, -1)).squeeze(1).to(at::kFloat).argmax(-1);
        at::Tensor next_cpu = next.cpu();
        bool all_finished = true;
        for (int64_t b = 0; b < batch; ++b) {
            if (!finished[b]) {
                out[b].push_back(next_cpu[b].item<int64_t>());
                finished[b] = eos && out[b].back() == *eos;
            }
            all_finished = all_finished && finished[b];
        }
        if (on_step) on_step(out);
        if (all_finished || step + 1 == max_new_tokens) break;
        mask = at::cat({mask, at::ones({batch, 1}, mask.options())}, 1);
        for (auto& [layer, keys] : kept_mask) keys = at::cat({keys, at::ones({batch, 1}, mask.options())}, 1);
        const at::Tensor position = positions.dim() == 3 ? next_position.unsqueeze(-1).expand({batch, 1, 3}) : next_position;
        s = d.start(d.embed(next.unsqueeze(1)), mask, position, cache[0].k.size(2), {});
        next_position = next_position + 1;
    }
    return out;
}

DecoderSteps llama_steps(const WeightStore& w, const std::string& p, const std::string& head, const LlamaConfig& c) {
    DecoderSteps d;
    d.layers = c.layers;
    d.bidirectional_images = c.bidirectional_images;
    d.start = [&c](const at::Tensor& x, const at::Tensor& mask, const at::Tensor& positions, int64_t past, const at::Tensor& slots) {
        return llama_start(c, x, mask, positions, past, slots);
    };
    d.block = [&w, p, &c](int64_t i, StageState& s, at::Tensor* probs, LayerCache* cache) { llama_decoder_block(w, p, i, c, s, probs, cache); };
    d.logits = [&w, p, head, &c](const at::Tensor& hidden) { return llama_logits(w, p, head, c, llama_final_norm(w, p, c, hidden)); };
    d.embed = [&w, p, &c](const at::Tensor& ids) { return llama_embed_tokens(w, p, c, ids); };
    return d;
}

std::vector<std::vector<int64_t>> llama_generate(const WeightStore& w, const std::string& p, const std::string& head,
                                                 const LlamaConfig& c, const at::Tensor& inputs_embeds,
                                                 const at::Tensor& attention_mask, int max_new_tokens,
                                                 std::optional<int64_t> eos, const TokenStep& on_step,
                                                 const at::Tensor& prompt_positions, const PromptPruning& pruning,
                                                 const std::vector<at::Tensor>& deepstack) {
    return decoder_generate(llama_steps(w, p, head, c), inputs_embeds, attention_mask, max_new_tokens, eos, on_step, prompt_positions,
                            pruning, deepstack);
}

namespace {

// Gemma3TextConfig's own fields over its defaults.
void gemma3_text(const ConfigReader& t, const nlohmann::json& text, const std::string& path, LlamaConfig& c) {
    c.gemma = c.qk_norm = true;
    c.query_pre_attn_scalar = t.number("query_pre_attn_scalar", 256);
    c.rope_local_theta = t.number("rope_local_base_freq", 10000.0);
    c.sliding_window = t.integer("sliding_window", 4096);
    c.final_logit_softcapping = t.number("final_logit_softcapping", 0);
    if (t.number("attn_logit_softcapping", 0) != 0)
        throw Error(path, "text_config.attn_logit_softcapping is not supported (Gemma 3 sets none)");
    if (t.boolean("use_bidirectional_attention", false))
        throw Error(path, "text_config.use_bidirectional_attention: a bidirectional Gemma 3 does not generate text");
    const auto found = text.find("layer_types");
    const nlohmann::json* types = found == text.end() ? nullptr : &*found;
    if (types && !types->is_array()) throw Error(path, "text_config.layer_types must be a list");
    const int64_t pattern = t.integer("sliding_window_pattern", 6);
    if (!types && pattern <= 0) throw Error(path, "text_config.sliding_window_pattern must be positive");
    for (int64_t i = 0; i < c.layers; ++i) {
        if (!types) {
            c.local_layers.push_back((i + 1) % pattern != 0);
            continue;
        }
        const nlohmann::json& v = i < static_cast<int64_t>(types->size()) ? (*types)[i] : nlohmann::json();
        if (v != "sliding_attention" && v != "full_attention")
            throw Error(path, "text_config.layer_types must give each of the " + std::to_string(c.layers) +
                                  " layers \"sliding_attention\" or \"full_attention\"");
        c.local_layers.push_back(v == "sliding_attention");
    }
}

}  // namespace

LlamaConfig multimodal_text_config(const nlohmann::json& config, const std::string& path, const std::string& default_type) {
    const std::string type = ConfigReader(config, path).sub("text_config").string("model_type", default_type);
    nlohmann::json text = nlohmann::json::object();
    if (type == "mistral")
        text = {{"hidden_size", 4096}, {"intermediate_size", 14336}, {"num_key_value_heads", 8},
                {"max_position_embeddings", 4096 * 32}, {"rms_norm_eps", 1e-6}, {"sliding_window", 4096}};
    else if (type == "qwen2")
        text = {{"vocab_size", 151936}, {"intermediate_size", 22016}, {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-6}};
    else if (type == "gemma3_text")
        text = {{"vocab_size", 262208}, {"hidden_size", 2304}, {"intermediate_size", 9216}, {"num_hidden_layers", 26},
                {"num_attention_heads", 8}, {"num_key_value_heads", 4}, {"head_dim", 256}, {"max_position_embeddings", 131072},
                {"tie_word_embeddings", true}, {"rope_theta", 1000000.0}, {"sliding_window", 4096}};
    else if (type != "llama")
        throw Error(path, "text_config.model_type \"" + type + "\" is not supported (the decoder may be LLaMA, Mistral, Qwen2 or Gemma 3)");
    // A null field is the class's None: no sliding window, no rope scaling, head_dim from the sizes.
    if (const auto it = config.find("text_config"); it != config.end() && it->is_object())
        for (const auto& [key, value] : it->items()) {
            if (value.is_null()) text.erase(key);
            else text[key] = value;
        }
    if (type == "gemma3_text") text["hidden_act"] = text.value("hidden_activation", std::string("gelu_pytorch_tanh"));
    const ConfigReader t(text, path, "text_config.");
    LlamaConfig c = llama_config(t, path);
    if (type == "gemma3_text") gemma3_text(t, text, path, c);
    if (type == "mistral" && t.has("sliding_window")) c.sliding_window = t.integer("sliding_window", 0);
    if (type == "qwen2") {
        if (t.boolean("use_sliding_window", false))
            throw Error(path, "text_config.use_sliding_window: sliding-window attention is not supported for Qwen2 decoders");
        c.qkv_bias = true;
    }
    return c;
}

}  // namespace ps
