#include "core/model/siglip.h"

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/layers.h"

namespace ps {
namespace {

ClipTowerConfig siglip_tower_config(const ConfigReader& c, bool vision) {
    ClipTowerConfig t;
    t.hidden = c.integer("hidden_size", 768);
    t.intermediate = c.integer("intermediate_size", 3072);
    t.layers = c.integer("num_hidden_layers", 12);
    t.heads = c.integer("num_attention_heads", 12);
    t.act = c.string("hidden_act", "gelu_pytorch_tanh");
    t.eps = c.number("layer_norm_eps", 1e-6);
    if (vision) {
        t.image_size = c.integer("image_size", 224);
        t.patch_size = c.integer("patch_size", 16);
        t.channels = c.integer("num_channels", 3);
    } else {
        t.vocab = c.integer("vocab_size", 32000);
        t.max_positions = c.integer("max_position_embeddings", 64);
    }
    return t;
}

class Siglip : public Vlm {
public:
    Siglip(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const ConfigReader cfg(weights_->checkpoint().config(), weights_->checkpoint().config_path());
        vision_ = siglip_vision_config(cfg.sub("vision_config"));
        text_ = siglip_tower_config(cfg.sub("text_config"), false);
        if (!cfg.sub("vision_config").boolean("vision_use_head", true))
            throw Error(weights_->checkpoint().config_path(), "SigLIP without a vision pooling head is not supported");
        towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_.layers)},
                   {"text", Modality::Language, static_cast<int>(text_.layers)}};
    }

    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>&) const override {
        const WeightStore& w = *weights_;
        if (tower == 0) return siglip_vision_embed(w, "vision_model.", vision_, in.pixel_values);
        StageState s;
        const std::string e = "text_model.embeddings.";
        at::Tensor ids = in.input_ids.to(w.device());
        const int64_t len = ids.size(1);
        if (len > text_.max_positions)
            throw Error("text", std::to_string(len) + " tokens, longer than the model's context of " +
                                    std::to_string(text_.max_positions) + " (truncation is an explicit option)");
        s.hidden = at::embedding(w.get(e + "token_embedding.weight"), ids) +
                   w.get(e + "position_embedding.weight").slice(0, 0, len).unsqueeze(0);
        if (in.attention_mask.defined()) s.bias = padding_bias(in.attention_mask.to(w.device()), s.hidden.scalar_type());
        return s;
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        const std::string p = (tower == 0 ? "vision_model.encoder.layers." : "text_model.encoder.layers.") +
                              std::to_string(i) + ".";
        clip_encoder_block(*weights_, p, tower == 0 ? vision_ : text_, s, probs);
    }

    void finish(int tower, StageState& s) const override {
        const std::string n = tower == 0 ? "vision_model.post_layernorm." : "text_model.final_layer_norm.";
        s.hidden = layer_norm(s.hidden, weights_->get(n + "weight"), weights_->get(n + "bias"), tower == 0 ? vision_.eps : text_.eps);
    }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        const WeightStore& w = *weights_;
        at::Tensor img = attention_pool(t[0].hidden);
        at::Tensor last = t[1].hidden.select(1, t[1].hidden.size(1) - 1);
        at::Tensor txt = at::linear(last, w.get("text_model.head.weight"), w.get("text_model.head.bias"));
        VlmOutputs out;
        dual_encoder_logits(out, img, txt, w.get("logit_scale"), w.get("logit_bias"));
        return out;
    }

private:
    // SiglipMultiheadAttentionPoolingHead: a learned probe attends over all patches, then a
    // residual MLP; the pooled vector is the probe's output.
    at::Tensor attention_pool(const at::Tensor& h) const {
        const WeightStore& w = *weights_;
        const std::string p = "vision_model.head.";
        const int64_t d = vision_.hidden;
        at::Tensor in_w = w.get(p + "attention.in_proj_weight"), in_b = w.get(p + "attention.in_proj_bias");
        at::Tensor probe = w.get(p + "probe").expand({h.size(0), 1, d});
        at::Tensor q = split_heads(at::linear(probe, in_w.slice(0, 0, d), in_b.slice(0, 0, d)), vision_.heads);
        at::Tensor k = split_heads(at::linear(h, in_w.slice(0, d, 2 * d), in_b.slice(0, d, 2 * d)), vision_.heads);
        at::Tensor v = split_heads(at::linear(h, in_w.slice(0, 2 * d), in_b.slice(0, 2 * d)), vision_.heads);
        const double scale = 1.0 / std::sqrt(static_cast<double>(d / vision_.heads));
        at::Tensor x = merge_heads(attention(q, k, v, {}, scale));
        x = at::linear(x, w.get(p + "attention.out_proj.weight"), w.get(p + "attention.out_proj.bias"));
        at::Tensor y = layer_norm(x, w.get(p + "layernorm.weight"), w.get(p + "layernorm.bias"), vision_.eps);
        y = activation(at::linear(y, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias")), vision_.act);
        x = x + at::linear(y, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias"));
        return x.select(1, 0);
    }

    ClipTowerConfig vision_, text_;
};

std::unique_ptr<Vlm> make_siglip(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Siglip>(std::move(map), std::move(weights));
}

}  // namespace

ClipTowerConfig siglip_vision_config(const ConfigReader& c) { return siglip_tower_config(c, true); }

StageState siglip_vision_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c, const at::Tensor& pixel_values) {
    const std::string e = p + "embeddings.";
    at::Tensor x = at::conv2d(pixel_values.to(w.device(), w.dtype()), w.get(e + "patch_embedding.weight"),
                              w.get(e + "patch_embedding.bias"), c.patch_size);
    x = x.flatten(2).transpose(1, 2);
    const at::Tensor pos = w.get(e + "position_embedding.weight");
    if (pos.size(0) != x.size(1))
        throw Error("pixel_values", std::to_string(x.size(1)) + " patches, but the model has " + std::to_string(pos.size(0)) +
                                        " position embeddings");
    StageState s;
    s.hidden = x + pos.unsqueeze(0);
    return s;
}

FamilySpec siglip_family() {
    FamilySpec f{"siglip", "SigLIP", {"siglip", "siglip2"}, dual_encoder_prefixes(false)};
    f.capabilities = dual_encoder_capabilities();
    f.capabilities.vision_cls = false;  // every vision token is a patch; the head pools them
    f.factory = make_siglip;
    return f;
}

}  // namespace ps
