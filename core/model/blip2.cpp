#include "core/model/blip2.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/config_reader.h"
#include "core/model/layers.h"
#include "core/model/opt.h"
#include "core/model/prompt_tokens.h"
#include "core/model/vlm.h"

namespace ps {
namespace {

// Blip2VisionConfig / Blip2QFormerConfig sizes over their defaults.
struct Blip2Tower {
    int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0;
    std::string act = "gelu";
    double eps = 1e-6;
    int64_t image_size = 224, patch_size = 14;  // vision
    bool qkv_bias = true;                       // vision
    int64_t cross_every = 2;                    // Q-Former: cross_attention_frequency
};

Blip2Tower tower_config(const ConfigReader& c, bool vision, const std::string& path) {
    Blip2Tower t;
    t.hidden = c.integer("hidden_size", vision ? 1408 : 768);
    t.intermediate = c.integer("intermediate_size", vision ? 6144 : 3072);
    t.layers = c.integer("num_hidden_layers", vision ? 39 : 12);
    t.heads = c.integer("num_attention_heads", vision ? 16 : 12);
    t.act = c.string("hidden_act", "gelu");
    t.eps = c.number("layer_norm_eps", vision ? 1e-6 : 1e-12);
    if (vision) {
        t.image_size = c.integer("image_size", 224);
        t.patch_size = c.integer("patch_size", 14);
        t.qkv_bias = c.boolean("qkv_bias", true);
    } else {
        t.cross_every = c.integer("cross_attention_frequency", 2);
        if (c.boolean("use_qformer_text_input", false))
            throw Error(path, "qformer_config.use_qformer_text_input: the Q-Former's text input (InstructBLIP) is not supported");
        if (c.string("position_embedding_type", "absolute") != "absolute")
            throw Error(path, "qformer_config.position_embedding_type must be \"absolute\"");
    }
    const std::string name = vision ? "vision_config" : "qformer_config";
    if (t.hidden <= 0 || t.heads <= 0 || t.hidden % t.heads || t.layers <= 0 || t.cross_every <= 0 ||
        (vision && (t.patch_size <= 0 || t.image_size < t.patch_size)))
        throw Error(path, name + ": sizes must be positive and hidden_size split into num_attention_heads");
    return t;
}

class Blip2 : public Vlm, public CausalVlm {
public:
    Blip2(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        vision_ = tower_config(cfg.sub("vision_config"), true, path);
        qformer_ = tower_config(cfg.sub("qformer_config"), false, path);
        const ConfigReader text = cfg.sub("text_config");
        if (const std::string type = text.string("model_type", "opt"); type != "opt")
            throw Error(path, "text_config.model_type \"" + type + "\" is not supported (BLIP-2 runs with an OPT language model)");
        text_ = opt_config(text, path);
        queries_ = cfg.integer("num_query_tokens", 32);
        if (queries_ <= 0) throw Error(path, "num_query_tokens must be positive");
        image_token_ = cfg.integer("image_token_index", -1);
        if (image_token_ < 0)
            throw Error(path, "image_token_index is not set: the prompt has no image tokens to put the Q-Former's outputs at "
                              "(checkpoints before transformers 4.47 prepend them; convert with their processor)");
        map_.capabilities.view_tokens = queries_;
        side_ = vision_.image_size / vision_.patch_size;
        towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_.layers)},
                   {"qformer", Modality::Projector, static_cast<int>(qformer_.layers)},
                   {"language", Modality::Language, static_cast<int>(text_.layers)}};
    }

    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const override {
        const WeightStore& w = *weights_;
        if (tower == 0) return in.pixel_values.defined() ? vision_embed(in.pixel_values) : StageState{};
        if (tower == 1) {  // the learned queries, normed, for every image; the image's features to attend to
            if (done.empty() || !done[0].hidden.defined()) return StageState{};
            const at::Tensor& image = done[0].hidden;
            StageState s;
            s.hidden = layer_norm(w.get("query_tokens", {1, queries_, qformer_.hidden}).expand({image.size(0), queries_, qformer_.hidden}),
                                  w.get("qformer.layernorm.weight"), w.get("qformer.layernorm.bias"), qformer_.eps);
            s.encoder_hidden = image;
            return s;
        }
        const PromptTokens p = prompt(in, done.size() > 1 ? done[1].hidden : at::Tensor());
        StageState s = opt_start(w, kDecoder, text_, p.per_token[0], p.mask, opt_positions(p.mask));
        s.image_slots = p.ids == image_token_;
        s.prompt_index = p.index;
        return s;
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        if (!s.hidden.defined()) return;
        if (tower == 0) vision_block(i, s, probs);
        else if (tower == 1) qformer_block(i, s, probs);
        else opt_decoder_block(*weights_, kDecoder, i, text_, s, probs);
    }

    void finish(int tower, StageState& s) const override {
        if (!s.hidden.defined()) return;
        const WeightStore& w = *weights_;
        if (tower == 0) {
            s.hidden = layer_norm(s.hidden, w.get("vision_model.post_layernorm.weight"), w.get("vision_model.post_layernorm.bias"), vision_.eps);
        } else if (tower == 1) {
            const at::Tensor x = w.linear("language_projection", s.hidden, text_.hidden, qformer_.hidden, true);
            s = StageState{};
            s.hidden = x;
        } else {
            s.hidden = opt_final(w, kDecoder, text_, s.hidden);
        }
    }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        VlmOutputs out;
        out.logits = opt_logits(*weights_, kDecoder, kHead, text_, t[2].hidden);
        return out;
    }

    std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                     const TokenStep& step) const override {
        at::NoGradGuard no_grad;
        std::vector<StageState> done{run_tower(0, in)};
        done.push_back(run_tower(1, in, done));
        const PromptTokens p = prompt(in, done[1].hidden);
        return decoder_generate(opt_steps(*weights_, kDecoder, kHead, text_), p.per_token[0], p.mask, max_new_tokens, eos, step, {},
                                {&token_hook(), 2, p.ids == image_token_});
    }

private:
    static constexpr const char* kDecoder = "language_model.model.decoder.";
    static constexpr const char* kHead = "language_model.lm_head.weight";

    // The prompt with the Q-Former's projected queries [images, queries, D] written over the image
    // tokens in order (their own ids looked up as 0), as many as token pruning before the language
    // model leaves; the mask always given (OPT counts positions by it).
    PromptTokens prompt(const VlmInputs& in, const at::Tensor& features) const {
        PromptTokens p;
        p.ids = in.input_ids.to(weights_->device());
        p.mask = in.attention_mask.defined() ? in.attention_mask.to(p.ids.device()) : at::ones_like(p.ids);
        const at::Tensor slots = p.ids == image_token_;
        p.per_token = {write_image_features(opt_embed_tokens(*weights_, kDecoder, text_, p.ids.masked_fill(slots, 0)), slots, features,
                                            image_token_, "the " + std::to_string(features.defined() ? features.size(0) : 0) + " image(s)",
                                            "features; each feature needs one token")};
        choose_image_tokens(token_hook(), p, image_token_);
        return p;
    }

    // Patch embeddings after the class embedding, plus the learned positions; images [B,3,S,S].
    StageState vision_embed(const at::Tensor& pixel_values) const {
        const WeightStore& w = *weights_;
        const std::string e = "vision_model.embeddings.";
        const at::Tensor px = pixel_values.to(w.device(), w.dtype());
        if (px.dim() != 4 || px.size(1) != 3 || px.size(2) != vision_.image_size || px.size(3) != vision_.image_size)
            throw Error("pixel_values", "not images [B, 3, " + std::to_string(vision_.image_size) + ", " +
                                            std::to_string(vision_.image_size) + "] of the vision tower's size");
        at::Tensor x = at::conv2d(px, w.get(e + "patch_embedding.weight"), w.get(e + "patch_embedding.bias"), vision_.patch_size)
                           .flatten(2)
                           .transpose(1, 2);
        x = at::cat({w.get(e + "class_embedding", {1, 1, vision_.hidden}).expand({x.size(0), 1, vision_.hidden}), x}, 1);
        StageState s;
        s.hidden = x + w.get(e + "position_embedding", {1, side_ * side_ + 1, vision_.hidden});
        return s;
    }

    // Blip2EncoderLayer: pre-norm attention through the fused qkv, then the MLP.
    void vision_block(int i, StageState& s, at::Tensor* probs) const {
        const WeightStore& w = *weights_;
        const std::string p = "vision_model.encoder.layers." + std::to_string(i) + ".", a = p + "self_attn.";
        const int64_t d = vision_.hidden, head_dim = d / vision_.heads;
        const int64_t width = w.coupled_width({a + "qkv.weight"}, {}, 3 * d) / 3;
        const int64_t inter = w.coupled_width({p + "mlp.fc1.weight"}, {p + "mlp.fc2.weight"}, vision_.intermediate);
        const int64_t heads = width / head_dim;
        const at::Tensor x = layer_norm(s.hidden, w.get(p + "layer_norm1.weight"), w.get(p + "layer_norm1.bias"), vision_.eps);
        const at::Tensor qkv = w.linear(a + "qkv", x, 3 * width, d, vision_.qkv_bias).view({x.size(0), x.size(1), 3, heads, head_dim});
        const at::Tensor o = attention(qkv.select(2, 0).transpose(1, 2), qkv.select(2, 1).transpose(1, 2), qkv.select(2, 2).transpose(1, 2),
                                       s.bias, std::pow(static_cast<double>(head_dim), -0.5), probs);
        const at::Tensor h = s.hidden + w.linear(a + "projection", merge_heads(o), d, width, true);
        const at::Tensor y = layer_norm(h, w.get(p + "layer_norm2.weight"), w.get(p + "layer_norm2.bias"), vision_.eps);
        s.hidden = h + w.linear(p + "mlp.fc2", activation(w.linear(p + "mlp.fc1", y, inter, d, true), vision_.act), d, inter, true);
    }

    // One Q-Former attention (BERT's: attention, then dense and LayerNorm over the residual); keys
    // and values from `source` (the queries themselves, or the image for cross-attention).
    at::Tensor qformer_attention(const std::string& p, const at::Tensor& x, const at::Tensor& source, int64_t source_width,
                                 at::Tensor* probs) const {
        const WeightStore& w = *weights_;
        const int64_t d = qformer_.hidden, head_dim = d / qformer_.heads;
        const std::string a = p + "attention.";
        const int64_t width = w.coupled_width({a + "query.weight", a + "key.weight", a + "value.weight"}, {p + "output.dense.weight"}, d);
        const int64_t heads = width / head_dim;
        const at::Tensor q = split_heads(w.linear(a + "query", x, width, d, true), heads);
        const at::Tensor k = split_heads(w.linear(a + "key", source, width, source_width, true), heads);
        const at::Tensor v = split_heads(w.linear(a + "value", source, width, source_width, true), heads);
        const at::Tensor o = merge_heads(attention(q, k, v, {}, 1.0 / std::sqrt(static_cast<double>(head_dim)), probs));
        return layer_norm(w.linear(p + "output.dense", o, d, width, true) + x, w.get(p + "output.LayerNorm.weight"),
                          w.get(p + "output.LayerNorm.bias"), qformer_.eps);
    }

    // Blip2QFormerLayer for the queries: self-attention, cross-attention to the image every
    // cross_attention_frequency layers, then the queries' MLP.
    void qformer_block(int i, StageState& s, at::Tensor* probs) const {
        const WeightStore& w = *weights_;
        const std::string p = "qformer.encoder.layer." + std::to_string(i) + ".";
        at::Tensor x = qformer_attention(p + "attention.", s.hidden, s.hidden, qformer_.hidden, probs);
        if (i % qformer_.cross_every == 0) x = qformer_attention(p + "crossattention.", x, s.encoder_hidden, vision_.hidden, nullptr);
        const int64_t d = qformer_.hidden;
        const int64_t inter = w.coupled_width({p + "intermediate_query.dense.weight"}, {p + "output_query.dense.weight"}, qformer_.intermediate);
        const at::Tensor y = activation(w.linear(p + "intermediate_query.dense", x, inter, d, true), qformer_.act);
        s.hidden = layer_norm(w.linear(p + "output_query.dense", y, d, inter, true) + x, w.get(p + "output_query.LayerNorm.weight"),
                              w.get(p + "output_query.LayerNorm.bias"), qformer_.eps);
    }

    Blip2Tower vision_, qformer_;
    OptConfig text_;
    int64_t queries_ = 32, image_token_ = -1, side_ = 0;
};

std::unique_ptr<Vlm> make_blip2(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Blip2>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec blip2_family() {
    FamilySpec f{"blip-2", "BLIP-2", {"blip-2"},
                 {{"(model\\.)?vision_model\\.", Modality::Vision},
                  {"(model\\.)?(qformer\\.|query_tokens|language_projection\\.)", Modality::Projector},
                  {"(model\\.)?language_model\\.", Modality::Language}}};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.chat_template = "{image}Question: {question} Answer:";
    c.image_tokens_spatial = false;  // the Q-Former's queries
    c.towers = {{Modality::Vision, "vision_config", false},
                {Modality::Projector, "qformer_config", false},
                {Modality::Language, "text_config", false, "ffn_dim"}};
    f.factory = make_blip2;
    return f;
}

}  // namespace ps
