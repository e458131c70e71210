#include "core/model/bert.h"

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

BertStyleConfig bert_config(const ConfigReader& c) {
    BertStyleConfig t;
    t.hidden = c.integer("hidden_size", 768);
    t.intermediate = c.integer("intermediate_size", 3072);
    t.layers = c.integer("num_hidden_layers", 12);
    t.heads = c.integer("num_attention_heads", 12);
    t.act = c.string("hidden_act", "gelu");
    t.eps = c.number("layer_norm_eps", 1e-12);
    t.max_positions = c.integer("max_position_embeddings", 512);
    const std::string pos = c.string("position_embedding_type", "absolute");
    if (pos != "absolute") throw Error(c.path(), "BERT position_embedding_type \"" + pos + "\" is not supported");
    return t;
}

StageState bert_embed(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& input_ids,
                      const at::Tensor& attention_mask) {
    const std::string e = p + "embeddings.";
    at::Tensor ids = input_ids.to(w.device());
    const int64_t len = ids.size(1);
    if (len > c.max_positions)
        throw Error("text", std::to_string(len) + " tokens, longer than the model's context of " +
                                std::to_string(c.max_positions) + " (truncation is an explicit option)");
    at::Tensor x = at::embedding(w.get(e + "word_embeddings.weight"), ids) +
                   w.get(e + "position_embeddings.weight").slice(0, 0, len).unsqueeze(0) +
                   w.get(e + "token_type_embeddings.weight").select(0, 0);
    StageState s;
    s.hidden = layer_norm(x, w.get(e + "LayerNorm.weight"), w.get(e + "LayerNorm.bias"), c.eps);
    if (attention_mask.defined()) s.bias = padding_bias(attention_mask.to(w.device()), x.scalar_type());
    return s;
}

void bert_block(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s, at::Tensor* probs) {
    at::Tensor a = bert_style_attention(w, p + "attention.self.", p + "attention.output.dense", c, s.hidden, s.bias, probs);
    at::Tensor h = layer_norm(a + s.hidden, w.get(p + "attention.output.LayerNorm.weight"),
                              w.get(p + "attention.output.LayerNorm.bias"), c.eps);
    const int64_t i = w.coupled_width({p + "intermediate.dense.weight"}, {p + "output.dense.weight"}, c.intermediate);
    at::Tensor x = activation(bert_style_linear(w, p + "intermediate.dense", h, i, c.hidden), c.act);
    x = bert_style_linear(w, p + "output.dense", x, c.hidden, i);
    s.hidden = layer_norm(x + h, w.get(p + "output.LayerNorm.weight"), w.get(p + "output.LayerNorm.bias"), c.eps);
}

at::Tensor bert_pool(const WeightStore& w, const std::string& p, const at::Tensor& hidden) {
    return at::tanh(at::linear(hidden.select(1, 0), w.get(p + "pooler.dense.weight"), w.get(p + "pooler.dense.bias")));
}

}  // namespace ps
