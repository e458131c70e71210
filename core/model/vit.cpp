#include "core/model/vit.h"

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

BertStyleConfig vit_config(const ConfigReader& c) {
    BertStyleConfig t;
    t.hidden = c.integer("hidden_size", 768);
    t.intermediate = c.integer("intermediate_size", 3072);
    t.layers = c.integer("num_hidden_layers", 12);
    t.heads = c.integer("num_attention_heads", 12);
    t.act = c.string("hidden_act", "gelu");
    t.eps = c.number("layer_norm_eps", 1e-12);
    t.image_size = c.integer("image_size", 224);
    t.patch_size = c.integer("patch_size", 16);
    t.pooler_act = c.string("pooler_act", "tanh");
    return t;
}

at::Tensor bert_style_linear(const WeightStore& w, const std::string& name, const at::Tensor& x, int64_t out,
                             int64_t in) {
    return w.linear(name, x, out, in, true);
}

at::Tensor bert_style_attention(const WeightStore& w, const std::string& p, const std::string& out,
                                const BertStyleConfig& c, const at::Tensor& x, const at::Tensor& bias, at::Tensor* probs) {
    const int64_t d = c.hidden, head_dim = d / c.heads;
    const int64_t inner = w.coupled_width({p + "query.weight", p + "key.weight", p + "value.weight"}, {out + ".weight"}, d);
    if (inner % head_dim != 0)
        throw Error(w.checkpoint().dir(), p + "query has " + std::to_string(inner) + " rows, not whole heads of " +
                                              std::to_string(head_dim));
    const int64_t heads = inner / head_dim;
    at::Tensor q = split_heads(bert_style_linear(w, p + "query", x, inner, d), heads);
    at::Tensor k = split_heads(bert_style_linear(w, p + "key", x, inner, d), heads);
    at::Tensor v = split_heads(bert_style_linear(w, p + "value", x, inner, d), heads);
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    return bert_style_linear(w, out, merge_heads(attention(q, k, v, bias, scale, probs)), d, inner);
}

StageState vit_embed(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& pixel_values) {
    const std::string e = p + "embeddings.";
    at::Tensor pix = pixel_values.to(w.device(), w.dtype());
    at::Tensor x = at::conv2d(pix, w.get(e + "patch_embeddings.projection.weight"),
                              w.get(e + "patch_embeddings.projection.bias"), c.patch_size);
    x = x.flatten(2).transpose(1, 2);
    x = at::cat({w.get(e + "cls_token").expand({x.size(0), 1, c.hidden}), x}, 1);
    at::Tensor pos = w.get(e + "position_embeddings");
    if (pos.size(1) != x.size(1))
        throw Error("pixel_values", std::to_string(x.size(1) - 1) + " patches, but the model has " +
                                        std::to_string(pos.size(1) - 1) + " patch positions");
    StageState s;
    s.hidden = x + pos;
    return s;
}

void vit_block(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s, at::Tensor* probs) {
    at::Tensor x = layer_norm(s.hidden, w.get(p + "layernorm_before.weight"), w.get(p + "layernorm_before.bias"), c.eps);
    at::Tensor h = s.hidden + bert_style_attention(w, p + "attention.attention.", p + "attention.output.dense", c, x, s.bias, probs);
    x = layer_norm(h, w.get(p + "layernorm_after.weight"), w.get(p + "layernorm_after.bias"), c.eps);
    const int64_t i = w.coupled_width({p + "intermediate.dense.weight"}, {p + "output.dense.weight"}, c.intermediate);
    x = activation(bert_style_linear(w, p + "intermediate.dense", x, i, c.hidden), c.act);
    s.hidden = h + bert_style_linear(w, p + "output.dense", x, c.hidden, i);
}

void vit_finish(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s) {
    s.hidden = layer_norm(s.hidden, w.get(p + "layernorm.weight"), w.get(p + "layernorm.bias"), c.eps);
}

at::Tensor vit_pool(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& hidden) {
    at::Tensor cls = at::linear(hidden.select(1, 0), w.get(p + "pooler.dense.weight"), w.get(p + "pooler.dense.bias"));
    return activation(cls, c.pooler_act);
}

}  // namespace ps
