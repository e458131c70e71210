#include "core/model/internvl.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/model/config_reader.h"
#include "core/model/layers.h"
#include "core/model/llama.h"

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

class InternVl : public Vlm, public CausalVlm {
public:
    InternVl(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
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

        const auto& names = ckpt.names();
        const bool modules = std::any_of(names.begin(), names.end(), [](const std::string& n) {
            return n.rfind("model.language_model.", 0) == 0 || n.rfind("model.vision_tower.", 0) == 0;
        });
        const std::string root = modules ? "model." : "";
        vision_prefix_ = root + "vision_tower.";
        projector_prefix_ = root + "multi_modal_projector.";
        language_prefix_ = modules ? "model.language_model." : "language_model.model.";
        head_name_ = modules ? "lm_head.weight" : "language_model.lm_head.weight";
        towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_.layers)},
                   {"language", Modality::Language, static_cast<int>(text_.layers)}};
    }

    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const override {
        if (tower == 0) return in.pixel_values.defined() ? vision_embed(in.pixel_values) : StageState{};
        at::Tensor ids = in.input_ids.to(weights_->device());
        at::Tensor x = merged_embeddings(ids, done.empty() ? at::Tensor() : done[0].hidden);
        StageState s = llama_start(text_, x, in.attention_mask, at::arange(ids.size(1), ids.options()).unsqueeze(0));
        s.image_slots = ids == image_token_;
        return s;
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        if (tower == 1) {
            llama_decoder_block(*weights_, language_prefix_ + "layers." + std::to_string(i) + ".", text_, s, probs);
            return;
        }
        if (s.hidden.defined()) vision_block(vision_prefix_ + "encoder.layer." + std::to_string(i) + ".", s, probs);
    }

    void finish(int tower, StageState& s) const override {
        if (tower == 1) {
            s.hidden = llama_final_norm(*weights_, language_prefix_, text_, s.hidden);
            return;
        }
        if (!s.hidden.defined()) return;
        const WeightStore& w = *weights_;
        at::Tensor x = s.hidden;
        if (vision_.final_norm)
            x = layer_norm(x, w.get(vision_prefix_ + "layernorm.weight"), w.get(vision_prefix_ + "layernorm.bias"), vision_.eps);
        x = pixel_shuffle(x.slice(1, 1));  // without [CLS]
        const std::string& p = projector_prefix_;
        const int64_t in = 4 * vision_.hidden;
        x = layer_norm(x, w.get(p + "layer_norm.weight", {in}), w.get(p + "layer_norm.bias", {in}), 1e-5);
        x = activation(w.linear(p + "linear_1", x, text_.hidden, in, true), projector_act_);
        s = StageState{};
        s.hidden = w.linear(p + "linear_2", x, text_.hidden, text_.hidden, true);
    }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        VlmOutputs out;
        out.logits = llama_logits(*weights_, language_prefix_, head_name_, text_, t[1].hidden);
        return out;
    }

    std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                     const TokenStep& step) const override {
        at::NoGradGuard no_grad;
        const StageState vision = run_tower(0, in);
        at::Tensor ids = in.input_ids.to(weights_->device());
        return llama_generate(*weights_, language_prefix_, head_name_, text_, merged_embeddings(ids, vision.hidden),
                              in.attention_mask, max_new_tokens, eos, step, {}, {&token_hook(), 1, ids == image_token_});
    }

private:
    at::Tensor norm(const std::string& n, const at::Tensor& x) const {
        const WeightStore& w = *weights_;
        return vision_.rms_norm ? rms_norm(x, w.get(n + ".weight", {vision_.hidden}), vision_.eps)
                                : layer_norm(x, w.get(n + ".weight", {vision_.hidden}), w.get(n + ".bias", {vision_.hidden}), vision_.eps);
    }

    // Patch embeddings after [CLS], plus the learned positions; views [V,3,H,W] of the tower's size.
    StageState vision_embed(const at::Tensor& pixel_values) const {
        const WeightStore& w = *weights_;
        const std::string e = vision_prefix_ + "embeddings.";
        at::Tensor px = pixel_values.to(w.device(), w.dtype());
        if (px.dim() != 4 || px.size(2) != vision_.image_size || px.size(3) != vision_.image_size)
            throw Error("pixel_values", shape_string(px) + " is not views [V, 3, " + std::to_string(vision_.image_size) + ", " +
                                            std::to_string(vision_.image_size) + "] of the vision tower's tiles");
        at::Tensor x = at::conv2d(px, w.get(e + "patch_embeddings.projection.weight"), w.get(e + "patch_embeddings.projection.bias"),
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
    void vision_block(const std::string& p, StageState& s, at::Tensor* probs) const {
        const WeightStore& w = *weights_;
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

    // transformers' pixel_shuffle at 0.5 on each view's side x side features [V, side^2, C]:
    // [V, (side/2)^2, 4C], each token the features of a 2 x 2 group of patches.
    at::Tensor pixel_shuffle(const at::Tensor& x) const {
        const int64_t n = x.size(0), c = x.size(2), half = side_ / 2;
        return x.reshape({n, side_, side_, c})
            .reshape({n, side_, half, 2 * c})
            .permute({0, 2, 1, 3})
            .reshape({n, half, half, 4 * c})
            .permute({0, 2, 1, 3})
            .reshape({n, half * half, 4 * c});
    }

    // Token embeddings with every view's features [V, tokens, D] written over the image tokens in order.
    at::Tensor merged_embeddings(const at::Tensor& ids, const at::Tensor& features) const {
        at::Tensor x = llama_embed_tokens(*weights_, language_prefix_, text_, ids);
        const at::Tensor slots = ids == image_token_;
        const int64_t tokens = slots.sum().item<int64_t>();
        const int64_t given = features.defined() ? features.size(0) * features.size(1) : 0;
        if (tokens != given)
            throw Error("input_ids", std::to_string(tokens) + " image tokens (id " + std::to_string(image_token_) + ") but the " +
                                         std::to_string(features.defined() ? features.size(0) : 0) + " view(s) give " +
                                         std::to_string(given) + " features; each feature needs one token");
        if (tokens == 0) return x;
        return x.masked_scatter(slots.unsqueeze(-1).expand_as(x), features.flatten(0, 1).to(x.scalar_type()));
    }

    InternVitConfig vision_;
    LlamaConfig text_;
    int64_t image_token_ = 0, side_ = 0;
    std::string projector_act_;
    std::string vision_prefix_, projector_prefix_, language_prefix_, head_name_;
};

std::unique_ptr<Vlm> make_internvl(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<InternVl>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec internvl_family() {
    FamilySpec f{"internvl", "InternVL", {"internvl"},
                 {{"(model\\.)?vision_tower\\.", Modality::Vision},
                  {"(model\\.)?multi_modal_projector\\.", Modality::Projector},
                  {"(model\\.)?language_model\\.", Modality::Language}}};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.chat_template = "<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n";
    c.image_start = "<img>";
    c.image_end = "</img>";
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", true}};
    f.factory = make_internvl;
    return f;
}

}  // namespace ps
