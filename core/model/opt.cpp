#include "core/model/opt.h"

#include <cmath>

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

OptConfig opt_config(const ConfigReader& c, const std::string& config_path) {
    OptConfig o;
    o.hidden = c.integer("hidden_size", o.hidden);
    o.ffn = c.integer("ffn_dim", o.ffn);
    o.layers = c.integer("num_hidden_layers", o.layers);
    o.heads = c.integer("num_attention_heads", o.heads);
    o.vocab = c.integer("vocab_size", o.vocab);
    o.max_positions = c.integer("max_position_embeddings", o.max_positions);
    if (c.integer("word_embed_proj_dim", o.hidden) != o.hidden || !c.boolean("do_layer_norm_before", true))
        throw Error(config_path, "text_config: OPT-350m's layout (word_embed_proj_dim other than hidden_size, layer norms after "
                                 "each part) is not supported");
    o.final_norm = !c.boolean("_remove_final_layer_norm", false);
    o.bias = c.boolean("enable_bias", true);
    o.tie_word_embeddings = c.boolean("tie_word_embeddings", true);
    o.act = c.string("activation_function", "relu");
    if (o.hidden <= 0 || o.heads <= 0 || o.hidden % o.heads || o.ffn <= 0 || o.layers <= 0 || o.vocab <= 0)
        throw Error(config_path, "text_config: OPT's sizes must be positive and hidden_size split into num_attention_heads");
    if (!c.boolean("layer_norm_elementwise_affine", true))
        throw Error(config_path, "text_config.layer_norm_elementwise_affine false is not supported");
    return o;
}

namespace {

at::Tensor norm(const WeightStore& w, const std::string& n, const OptConfig& c, const at::Tensor& x) {
    return layer_norm(x, w.get(n + ".weight", {c.hidden}), w.get(n + ".bias", {c.hidden}), 1e-5);
}

}  // namespace

at::Tensor opt_embed_tokens(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& ids) {
    return at::embedding(w.get(p + "embed_tokens.weight", {c.vocab, c.hidden}), ids.to(w.device()));
}

at::Tensor opt_positions(const at::Tensor& attention_mask) {
    const at::Tensor m = attention_mask.to(at::kLong);
    return m.cumsum(1) * m - 1;
}

StageState opt_start(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& inputs_embeds,
                     const at::Tensor& attention_mask, const at::Tensor& positions, int64_t past) {
    const int64_t len = inputs_embeds.size(1);
    const at::Tensor pos = positions.to(inputs_embeds.device()).expand({inputs_embeds.size(0), len});
    if (pos.numel() && pos.max().item<int64_t>() >= c.max_positions)
        throw Error("input_ids", std::to_string(pos.max().item<int64_t>() + 1) + " tokens are more than the decoder's " +
                                     std::to_string(c.max_positions) + " positions");
    const at::Tensor& x = inputs_embeds;
    StageState s;
    s.positions = pos;
    s.hidden = x + at::embedding(w.get(p + "embed_positions.weight", {c.max_positions + 2, c.hidden}), pos + 2).to(x.scalar_type());
    s.bias = llama_attention_bias(attention_mask, inputs_embeds.size(0), len, past + len, x.scalar_type(), x.device());
    return s;
}

void opt_decoder_block(const WeightStore& w, const std::string& model, int64_t layer, const OptConfig& c, StageState& s,
                       at::Tensor* probs, LayerCache* cache) {
    const std::string p = model + "layers." + std::to_string(layer) + ".", a = p + "self_attn.";
    // Widths from this block's own weights (structured pruning shrinks them).
    const int64_t head_dim = c.hidden / c.heads;
    const int64_t qd = w.coupled_width({a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"}, {a + "out_proj.weight"}, c.hidden);
    const int64_t ffn = w.coupled_width({p + "fc1.weight"}, {p + "fc2.weight"}, c.ffn);
    if (qd % head_dim) throw Error(w.checkpoint().dir(), a + ": " + std::to_string(qd) + " rows are not whole heads of " + std::to_string(head_dim));
    const int64_t heads = qd / head_dim;
    at::Tensor x = norm(w, p + "self_attn_layer_norm", c, s.hidden);
    // OPT scales the queries before the product (attention then at scale 1).
    const at::Tensor q = split_heads(w.linear(a + "q_proj", x, qd, c.hidden, c.bias) * std::pow(static_cast<double>(head_dim), -0.5), heads);
    at::Tensor k = split_heads(w.linear(a + "k_proj", x, qd, c.hidden, c.bias), heads);
    at::Tensor v = split_heads(w.linear(a + "v_proj", x, qd, c.hidden, c.bias), heads);
    if (cache) cache->append(k, v);
    const at::Tensor o = zero_unattended(attention(q, k, v, s.bias, 1.0, probs), s.bias, probs);
    const at::Tensor h = s.hidden + w.linear(a + "out_proj", merge_heads(o), c.hidden, qd, c.bias);
    x = norm(w, p + "final_layer_norm", c, h);
    s.hidden = h + w.linear(p + "fc2", activation(w.linear(p + "fc1", x, ffn, c.hidden, c.bias), c.act), c.hidden, ffn, c.bias);
}

at::Tensor opt_final(const WeightStore& w, const std::string& p, const OptConfig& c, const at::Tensor& hidden) {
    return c.final_norm ? norm(w, p + "final_layer_norm", c, hidden) : hidden;
}

at::Tensor opt_logits(const WeightStore& w, const std::string& p, const std::string& head, const OptConfig& c,
                      const at::Tensor& hidden) {
    const std::string name = c.tie_word_embeddings && !w.has(head) ? p + "embed_tokens.weight" : head;
    return at::linear(hidden, w.get(name, {c.vocab, c.hidden}));
}

DecoderSteps opt_steps(const WeightStore& w, const std::string& p, const std::string& head, const OptConfig& c) {
    DecoderSteps d;
    d.layers = c.layers;
    d.start = [&w, p, &c](const at::Tensor& x, const at::Tensor& mask, const at::Tensor& positions, int64_t past, const at::Tensor&) {
        return opt_start(w, p, c, x, mask, positions, past);
    };
    d.block = [&w, p, &c](int64_t i, StageState& s, at::Tensor* probs, LayerCache* cache) { opt_decoder_block(w, p, i, c, s, probs, cache); };
    d.logits = [&w, p, head, &c](const at::Tensor& hidden) { return opt_logits(w, p, head, c, opt_final(w, p, c, hidden)); };
    d.embed = [&w, p, &c](const at::Tensor& ids) { return opt_embed_tokens(w, p, c, ids); };
    return d;
}

}  // namespace ps
