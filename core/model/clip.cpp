#include "core/model/clip.h"

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

ClipTowerConfig clip_vision_config(const ConfigReader& c) {
    ClipTowerConfig t;
    t.hidden = c.integer("hidden_size", 768);
    t.intermediate = c.integer("intermediate_size", 3072);
    t.layers = c.integer("num_hidden_layers", 12);
    t.heads = c.integer("num_attention_heads", 12);
    t.act = c.string("hidden_act", "quick_gelu");
    t.eps = c.number("layer_norm_eps", 1e-5);
    t.image_size = c.integer("image_size", 224);
    t.patch_size = c.integer("patch_size", 32);
    t.channels = c.integer("num_channels", 3);
    return t;
}

ClipTowerConfig clip_text_config(const ConfigReader& c) {
    ClipTowerConfig t;
    t.hidden = c.integer("hidden_size", 512);
    t.intermediate = c.integer("intermediate_size", 2048);
    t.layers = c.integer("num_hidden_layers", 12);
    t.heads = c.integer("num_attention_heads", 8);
    t.act = c.string("hidden_act", "quick_gelu");
    t.eps = c.number("layer_norm_eps", 1e-5);
    t.vocab = c.integer("vocab_size", 49408);
    t.max_positions = c.integer("max_position_embeddings", 77);
    t.eos_token_id = c.integer("eos_token_id", 49407);
    return t;
}

void clip_encoder_block(const WeightStore& w, const std::string& p, const ClipTowerConfig& c, StageState& s,
                        at::Tensor* probs) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.hidden / c.heads));
    const int64_t d = c.hidden, i = w.coupled_width({p + "mlp.fc1.weight"}, {p + "mlp.fc2.weight"}, c.intermediate);
    at::Tensor x = layer_norm(s.hidden, w.get(p + "layer_norm1.weight", {d}), w.get(p + "layer_norm1.bias", {d}), c.eps);
    const std::string a = p + "self_attn.";
    auto proj = [&](const std::string& n, const at::Tensor& in, int64_t out, int64_t in_features) {
        return w.linear(n, in, out, in_features, true);
    };
    at::Tensor q = split_heads(proj(a + "q_proj", x, d, d), c.heads);
    at::Tensor k = split_heads(proj(a + "k_proj", x, d, d), c.heads);
    at::Tensor v = split_heads(proj(a + "v_proj", x, d, d), c.heads);
    const at::Tensor h = add_into(proj(a + "out_proj", merge_heads(attention(q, k, v, s.bias, scale, probs)), d, d), s.hidden);
    q.reset();
    k.reset();
    v.reset();
    x = layer_norm(h, w.get(p + "layer_norm2.weight", {d}), w.get(p + "layer_norm2.bias", {d}), c.eps);
    x = activation_into(proj(p + "mlp.fc1", x, i, d), c.act);
    s.hidden = add_into(proj(p + "mlp.fc2", x, d, i), h);
}

StageState clip_vision_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                             const at::Tensor& pixel_values) {
    const std::string e = p + "embeddings.";
    at::Tensor pix = pixel_values.to(w.device(), w.dtype());
    at::Tensor patches = at::conv2d(pix, w.get(e + "patch_embedding.weight"), {}, c.patch_size);
    patches = patches.flatten(2).transpose(1, 2);  // [B, N, D]
    at::Tensor cls = w.get(e + "class_embedding").view({1, 1, -1}).expand({pix.size(0), 1, c.hidden});
    at::Tensor x = at::cat({cls, patches}, 1);
    x = x + w.get(e + "position_embedding.weight").slice(0, 0, x.size(1)).unsqueeze(0);
    StageState s;
    s.hidden = layer_norm(x, w.get(p + "pre_layrnorm.weight"), w.get(p + "pre_layrnorm.bias"), c.eps);
    return s;
}

StageState clip_text_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                           const at::Tensor& input_ids, const at::Tensor& attention_mask) {
    const std::string e = p + "embeddings.";
    at::Tensor ids = input_ids.to(w.device());
    const int64_t len = ids.size(1);
    if (len > c.max_positions)
        throw Error("text", std::to_string(len) + " tokens, longer than the model's context of " +
                                std::to_string(c.max_positions) + " (truncation is an explicit option)");
    at::Tensor x = at::embedding(w.get(e + "token_embedding.weight"), ids) +
                   w.get(e + "position_embedding.weight").slice(0, 0, len).unsqueeze(0);
    StageState s;
    s.hidden = x;
    s.bias = causal_bias(len, len, x.scalar_type(), x.device());
    if (attention_mask.defined()) s.bias = s.bias + padding_bias(attention_mask.to(x.device()), x.scalar_type());
    return s;
}

at::Tensor clip_vision_pooled(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                              const at::Tensor& hidden) {
    return layer_norm(hidden.select(1, 0), w.get(p + "post_layernorm.weight"), w.get(p + "post_layernorm.bias"), c.eps);
}

at::Tensor clip_text_pooled(const ClipTowerConfig& c, const at::Tensor& hidden, const at::Tensor& input_ids) {
    at::Tensor ids = input_ids.to(hidden.device());
    // Checkpoints from before transformers PR #24773 carry eos_token_id 2: the EOS is the largest id.
    at::Tensor pos = c.eos_token_id == 2 ? ids.to(at::kInt).argmax(-1) : (ids == c.eos_token_id).to(at::kInt).argmax(-1);
    return hidden.index({at::arange(hidden.size(0), pos.options().dtype(at::kLong)), pos.to(at::kLong)});
}

void dual_encoder_logits(VlmOutputs& out, const at::Tensor& image_embeds, const at::Tensor& text_embeds,
                         const at::Tensor& logit_scale, const at::Tensor& logit_bias) {
    out.image_embeds = image_embeds / image_embeds.norm(2, -1, true);
    out.text_embeds = text_embeds / text_embeds.norm(2, -1, true);
    out.logits_per_text = at::matmul(out.text_embeds, out.image_embeds.t()) * logit_scale.exp();
    if (logit_bias.defined()) out.logits_per_text = out.logits_per_text + logit_bias;
    out.logits_per_image = out.logits_per_text.t();
}

namespace {

class Clip : public Vlm {
public:
    Clip(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const ConfigReader cfg(weights_->checkpoint().config(), weights_->checkpoint().config_path());
        vision_ = clip_vision_config(cfg.sub("vision_config"));
        text_ = clip_text_config(cfg.sub("text_config"));
        towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_.layers)},
                   {"text", Modality::Language, static_cast<int>(text_.layers)}};
    }

    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>&) const override {
        if (tower == 0) return clip_vision_embed(*weights_, "vision_model.", vision_, in.pixel_values);
        return clip_text_embed(*weights_, "text_model.", text_, in.input_ids, in.attention_mask);
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        const std::string p = (tower == 0 ? "vision_model.encoder.layers." : "text_model.encoder.layers.") +
                              std::to_string(i) + ".";
        clip_encoder_block(*weights_, p, tower == 0 ? vision_ : text_, s, probs);
    }

    void finish(int tower, StageState& s) const override {
        if (tower == 1)
            s.hidden = layer_norm(s.hidden, weights_->get("text_model.final_layer_norm.weight"),
                                  weights_->get("text_model.final_layer_norm.bias"), text_.eps);
    }

    VlmOutputs head(const VlmInputs& in, const std::vector<StageState>& t) const override {
        const WeightStore& w = *weights_;
        const at::Tensor pooled_v = clip_vision_pooled(w, "vision_model.", vision_, t[0].hidden);
        const at::Tensor pooled_t = clip_text_pooled(text_, t[1].hidden, in.input_ids);
        at::Tensor img = w.linear("visual_projection", pooled_v, w.rows("visual_projection.weight"), pooled_v.size(-1), false);
        at::Tensor txt = w.linear("text_projection", pooled_t, w.rows("text_projection.weight"), pooled_t.size(-1), false);
        VlmOutputs out;
        dual_encoder_logits(out, img, txt, w.get("logit_scale"));
        return out;
    }

private:
    ClipTowerConfig vision_, text_;
};

std::unique_ptr<Vlm> make_clip(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Clip>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec clip_family() {
    FamilySpec f{"clip", "CLIP", {"clip"}, dual_encoder_prefixes(true)};
    f.capabilities = dual_encoder_capabilities();
    f.factory = make_clip;
    return f;
}

}  // namespace ps
