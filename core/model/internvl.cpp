#include "core/model/internvl.h"

#include <cmath>

#include "core/error.h"
#include "core/model/config_reader.h"
#include "core/model/image_token_vlm.h"
#include "core/model/layers.h"

namespace ps {
namespace {

// InternVLVisionConfig over its defaults.
struct InternVitConfig {
    int64_t hidden = 1024, intermediate = 4096, layers = 24, heads = 16, image_size = 448, patch_size = 14;
    std::string act = "gelu";
    bool rms_norm = false, qk_norm = false, attention_bias = false, final_norm = false, positions = true;
    double eps = 1e-6;
};

// image_size and patch_size: an integer or [height, width] of equal sides.
int64_t square_side(const ConfigReader& c, const nlohmann::json& vision, const std::string& key, int64_t fallback) {
    const auto it = vision.find(key);
    if (it == vision.end() || it->is_null()) return fallback;
    const std::vector<int64_t> v = it->is_array() ? c.integers(key, {}) : std::vector<int64_t>{c.integer(key, fallback)};
    if (v.empty() || v.size() > 2 || v.front() != v.back() || v.front() <= 0)
        throw Error(c.path(), "vision_config." + key + " must be one positive size or [height, width] of equal sides");
    return v.front();
}

InternVitConfig internvit_config(const ConfigReader& c, const nlohmann::json& vision) {
    InternVitConfig v;
    v.hidden = c.integer("hidden_size", v.hidden);
    v.intermediate = c.integer("intermediate_size", v.intermediate);
    v.layers = c.integer("num_hidden_layers", v.layers);
    v.heads = c.integer("num_attention_heads", v.heads);
    v.act = c.string("hidden_act", v.act);
    v.eps = c.number("layer_norm_eps", v.eps);
    v.attention_bias = c.boolean("attention_bias", false);
    v.qk_norm = c.boolean("use_qk_norm", false);
    v.final_norm = !c.boolean("use_mean_pooling", true);
    v.positions = c.boolean("use_absolute_position_embeddings", true);
    const std::string norm = c.string("norm_type", "layer_norm");
    if (norm != "layer_norm" && norm != "rms_norm")
        throw Error(c.path(), "vision_config.norm_type must be \"layer_norm\" or \"rms_norm\", not \"" + norm + "\"");
    v.rms_norm = norm == "rms_norm";
    v.image_size = square_side(c, vision, "image_size", 448);
    v.patch_size = square_side(c, vision, "patch_size", 14);
    if (v.heads <= 0 || v.hidden % v.heads || v.patch_size <= 0 || v.image_size % v.patch_size)
        throw Error(c.path(), "vision_config: hidden_size must split into num_attention_heads and image_size into patches");
    return v;
}

class InternVl : public ImageTokenVlm {
public:
    InternVl(ModelMap map, std::unique_ptr<WeightStore> weights) : ImageTokenVlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        const auto vision = ckpt.config().find("vision_config");
        vision_ = internvit_config(cfg.sub("vision_config"), vision != ckpt.config().end() && vision->is_object() ? *vision
                                                                                                          : nlohmann::json::object());
        text_ = multimodal_text_config(ckpt.config(), path, "qwen2");
        image_token_ = cfg.integer("image_token_id", 151667);
        projector_act_ = cfg.string("projector_hidden_act", "gelu");
        if (cfg.integer("vision_feature_layer", -1) != -1)
            throw Error(path, "vision_feature_layer must be -1: InternVL takes the vision tower's last hidden state");
        if (cfg.string("vision_feature_select_strategy", "default") != "default")
            throw Error(path, "vision_feature_select_strategy must be \"default\": the [CLS] token has no place in the pixel shuffle");
        if (cfg.number("downsample_ratio", 0.5) != 0.5)
            throw Error(path, "downsample_ratio must be 0.5 (2 x 2 patches a token)");
        side_ = vision_.image_size / vision_.patch_size;
        if (side_ % 2) throw Error(path, "vision_config: a tile's " + std::to_string(side_) + " patches a side do not pair up for the pixel shuffle");
        if (const int64_t n = cfg.integer("image_seq_length", (side_ / 2) * (side_ / 2)); n != (side_ / 2) * (side_ / 2))
            throw Error(path, "image_seq_length " + std::to_string(n) + " is not the " + std::to_string((side_ / 2) * (side_ / 2)) +
                                  " tokens a tile gives after the pixel shuffle");

        const std::string root = hub_or_module_layout();
        vision_prefix_ = root + "vision_tower.";
        projector_prefix_ = root + "multi_modal_projector.";
        set_towers(vision_.layers);
    }

protected:
    // Patch embeddings after [CLS], plus the learned positions; views [V,3,H,W] of the tower's size.
    StageState vision_embed(const VlmInputs& in) const override {
        const WeightStore& w = *weights_;
        const std::string e = vision_prefix_ + "embeddings.";
        at::Tensor x = at::conv2d(square_views(in.pixel_values, vision_.image_size), w.get(e + "patch_embeddings.projection.weight"), w.get(e + "patch_embeddings.projection.bias"),
                                  vision_.patch_size)
                           .flatten(2)
                           .transpose(1, 2);
        x = at::cat({w.get(e + "cls_token", {1, 1, vision_.hidden}).expand({x.size(0), 1, vision_.hidden}), x}, 1);
        if (vision_.positions) x = x + w.get(e + "position_embeddings", {1, side_ * side_ + 1, vision_.hidden});
        StageState s;
        s.hidden = x;
        return s;
    }

    // InternVLVisionLayer: x + lambda_1 * attention(norm(x)), then + lambda_2 * mlp(norm(...)); the
    // q/k RMSNorms (eps 1e-6) span the whole width, before the heads are split.
    void vision_block(int index, StageState& s, at::Tensor* probs) const override {
        const WeightStore& w = *weights_;
        const std::string p = vision_prefix_ + "encoder.layer." + std::to_string(index) + ".";
        const int64_t d = vision_.hidden;
        const int64_t i = w.coupled_width({p + "mlp.fc1.weight"}, {p + "mlp.fc2.weight"}, vision_.intermediate);
        const std::string a = p + "attention.";
        at::Tensor x = norm(p + "layernorm_before", s.hidden);
        at::Tensor q = w.linear(a + "q_proj", x, d, d, vision_.attention_bias);
        at::Tensor k = w.linear(a + "k_proj", x, d, d, vision_.attention_bias);
        const at::Tensor v = w.linear(a + "v_proj", x, d, d, vision_.attention_bias);
        if (vision_.qk_norm) {
            q = rms_norm(q, w.get(a + "q_norm.weight", {d}), 1e-6);
            k = rms_norm(k, w.get(a + "k_norm.weight", {d}), 1e-6);
        }
        const double scale = 1.0 / std::sqrt(static_cast<double>(d / vision_.heads));
        x = merge_heads(attention(split_heads(q, vision_.heads), split_heads(k, vision_.heads), split_heads(v, vision_.heads), s.bias,
                                  scale, probs));
        const at::Tensor h = s.hidden + w.get(p + "lambda_1", {d}) * w.linear(a + "projection_layer", x, d, d, true);
        x = activation(w.linear(p + "mlp.fc1", norm(p + "layernorm_after", h), i, d, true), vision_.act);
        s.hidden = h + w.get(p + "lambda_2", {d}) * w.linear(p + "mlp.fc2", x, d, i, true);
    }

    void vision_finish(StageState& s) const override {
        const WeightStore& w = *weights_;
        at::Tensor x = s.hidden;
        if (vision_.final_norm)
            x = layer_norm(x, w.get(vision_prefix_ + "layernorm.weight"), w.get(vision_prefix_ + "layernorm.bias"), vision_.eps);
        x = pixel_shuffle(x.slice(1, 1), side_, 2);  // without [CLS]
        const std::string& p = projector_prefix_;
        const int64_t in = 4 * vision_.hidden;
        x = layer_norm(x, w.get(p + "layer_norm.weight", {in}), w.get(p + "layer_norm.bias", {in}), 1e-5);
        x = activation(w.linear(p + "linear_1", x, text_.hidden, in, true), projector_act_);
        s = StageState{};
        s.hidden = w.linear(p + "linear_2", x, text_.hidden, text_.hidden, true);
    }

private:
    at::Tensor norm(const std::string& n, const at::Tensor& x) const {
        const WeightStore& w = *weights_;
        return vision_.rms_norm ? rms_norm(x, w.get(n + ".weight", {vision_.hidden}), vision_.eps)
                                : layer_norm(x, w.get(n + ".weight", {vision_.hidden}), w.get(n + ".bias", {vision_.hidden}), vision_.eps);
    }

    InternVitConfig vision_;
    int64_t side_ = 0;
    std::string projector_act_;
    std::string vision_prefix_, projector_prefix_;
};

std::unique_ptr<Vlm> make_internvl(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<InternVl>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec internvl_family() {
    FamilySpec f = image_token_family("internvl", "InternVL", "internvl");
    Capabilities& c = f.capabilities;
    c.chat_template = "<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n";
    c.image_start = "<img>";
    c.image_end = "</img>";
    f.factory = make_internvl;
    return f;
}

}  // namespace ps
