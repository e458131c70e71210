#include "core/model/llava.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/config_reader.h"
#include "core/model/layers.h"
#include "core/model/llama.h"
#include "core/model/vit.h"

namespace ps {

namespace {

class Llava : public Vlm, public CausalVlm {
public:
    Llava(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);

        const ConfigReader vc = cfg.sub("vision_config");
        const std::string vision_type = vc.string("model_type", "clip_vision_model");
        if (vision_type != "clip_vision_model" && vision_type != "vit")
            throw Error(path, "vision_config.model_type \"" + vision_type +
                                  "\" is not supported (LLaVA runs with a CLIP or ViT vision tower)");
        vit_ = vision_type == "vit";
        vision_ = clip_vision_config(vc);
        if (vit_) {  // ViTModel (transformers' AutoModel for a "vit" config): sizes as ViTConfig reads them
            vit_config_ = vit_config(vc);
            vision_.hidden = vit_config_.hidden;
            vision_.layers = vit_config_.layers;
        }
        if (!cfg.has("vision_config")) {  // LlavaConfig's own default: CLIP ViT-L/14 at 336 px
            vision_.hidden = 1024;
            vision_.intermediate = 4096;
            vision_.layers = 24;
            vision_.heads = 16;
            vision_.patch_size = 14;
            vision_.image_size = 336;
        }
        const ConfigReader tc = cfg.sub("text_config");
        if (tc.string("model_type", "llama") != "llama")
            throw Error(path, "text_config.model_type \"" + tc.string("model_type", "") +
                                  "\" is not supported (LLaVA runs with a LLaMA decoder)");
        text_ = llama_config(tc, path);

        image_token_ = cfg.integer("image_token_index", cfg.integer("image_token_id", 32000));
        projector_act_ = cfg.string("projector_hidden_act", "gelu");
        projector_bias_ = cfg.boolean("multimodal_projector_bias", true);
        const std::string strategy = cfg.string("vision_feature_select_strategy", "default");
        if (strategy != "default" && strategy != "full")
            throw Error(path, "vision_feature_select_strategy must be \"default\" or \"full\", not \"" + strategy + "\"");
        keep_cls_ = strategy == "full";
        // hidden_states[k] of the vision tower is the output of its first k blocks (k < 0 counts back
        // from layers + 1), taken without post_layernorm.
        const int64_t layer = cfg.integer("vision_feature_layer", -2);
        const int64_t blocks = layer < 0 ? vision_.layers + 1 + layer : layer;
        if (blocks < 0 || blocks > vision_.layers)
            throw Error(path, "vision_feature_layer " + std::to_string(layer) + " is outside the vision tower's " +
                                  std::to_string(vision_.layers) + " layers");

        const auto& names = ckpt.names();
        const bool modules = std::any_of(names.begin(), names.end(), [](const std::string& n) {
            return n.rfind("model.language_model.", 0) == 0 || n.rfind("model.vision_tower.", 0) == 0;
        });
        const std::string root = modules ? "model." : "";
        vision_prefix_ = root + (vit_ ? "vision_tower." : "vision_tower.vision_model.");
        projector_prefix_ = root + "multi_modal_projector.";
        language_prefix_ = modules ? "model.language_model." : "language_model.model.";
        head_name_ = modules ? "lm_head.weight" : "language_model.lm_head.weight";

        towers_ = {{"vision", Modality::Vision, static_cast<int>(blocks)},
                   {"language", Modality::Language, static_cast<int>(text_.layers)}};
    }

    // Without pixel_values the vision tower is empty and the prompt must hold no image tokens.
    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const override {
        if (tower == 0) {
            if (!in.pixel_values.defined()) return StageState{};
            return vit_ ? vit_embed(*weights_, vision_prefix_, vit_config_, in.pixel_values)
                        : clip_vision_embed(*weights_, vision_prefix_, vision_, in.pixel_values);
        }
        at::Tensor ids = in.input_ids.to(weights_->device());
        at::Tensor x = merged_embeddings(ids, done.empty() ? at::Tensor() : done[0].hidden);
        at::Tensor positions = at::arange(ids.size(1), ids.options()).unsqueeze(0);
        StageState s = llama_start(text_, x, in.attention_mask, positions);
        s.image_slots = ids == image_token_;
        return s;
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        if (tower == 0) {
            if (!s.hidden.defined()) return;
            if (vit_) vit_block(*weights_, vision_prefix_ + "encoder.layer." + std::to_string(i) + ".", vit_config_, s, probs);
            else clip_encoder_block(*weights_, vision_prefix_ + "encoder.layers." + std::to_string(i) + ".", vision_, s, probs);
            return;
        }
        llama_decoder_block(*weights_, layer_prefix(i), text_, s, probs);
    }

    void finish(int tower, StageState& s) const override {
        if (tower == 1) {
            s.hidden = llama_final_norm(*weights_, language_prefix_, text_, s.hidden);
            return;
        }
        if (!s.hidden.defined()) return;
        // transformers' ViTModel reports its last hidden state after its final layernorm, so features
        // taken from the last block are normalised; CLIP's are not.
        if (vit_ && towers_[0].num_blocks == vision_.layers) vit_finish(*weights_, vision_prefix_, vit_config_, s);
        const WeightStore& w = *weights_;
        const std::string& p = projector_prefix_;
        at::Tensor x = keep_cls_ ? s.hidden : s.hidden.slice(1, 1);
        x = activation(w.linear(p + "linear_1", x, text_.hidden, vision_.hidden, projector_bias_), projector_act_);
        s = StageState{};
        s.hidden = w.linear(p + "linear_2", x, text_.hidden, text_.hidden, projector_bias_);
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
    std::string layer_prefix(int i) const { return language_prefix_ + "layers." + std::to_string(i) + "."; }

    // Token embeddings with the projected image features [images,P,D] written over the image tokens.
    at::Tensor merged_embeddings(const at::Tensor& ids, const at::Tensor& features) const {
        at::Tensor x = llama_embed_tokens(*weights_, language_prefix_, text_, ids);
        at::Tensor slots = ids == image_token_;
        const int64_t tokens = slots.sum().item<int64_t>();
        const int64_t images = features.defined() ? features.size(0) : 0;
        const int64_t per_image = features.defined() ? features.size(1) : 0;
        if (tokens != images * per_image)
            throw Error("input_ids", std::to_string(tokens) + " image tokens (id " + std::to_string(image_token_) +
                                         ") but " + std::to_string(images) + " image(s) of " + std::to_string(per_image) +
                                         " features; each image needs exactly that many tokens");
        if (tokens == 0) return x;
        return x.masked_scatter(slots.unsqueeze(-1).expand_as(x), features.to(x.scalar_type()));
    }

    ClipTowerConfig vision_;
    bool vit_ = false;  // a ViTModel vision tower (vit_config_) instead of CLIP's
    BertStyleConfig vit_config_;
    LlamaConfig text_;
    int64_t image_token_ = 0;
    std::string projector_act_;
    bool projector_bias_ = true, keep_cls_ = false;
    std::string vision_prefix_, projector_prefix_, language_prefix_, head_name_;
};

// LLaVA takes the vision features from hidden_states[vision_feature_layer] (-2 by default: before
// the last block), so the blocks from there on never run. A list of layers (features concatenated
// from several) runs up to the deepest.
std::string llava_unused(const nlohmann::json& config, const LinearLayer& l, int blocks) {
    if (l.modality != Modality::Vision || l.block < 0) return {};
    const auto it = config.find("vision_feature_layer");
    std::vector<int64_t> layers;
    if (it == config.end()) layers = {-2};
    else if (it->is_number_integer()) layers = {it->get<int64_t>()};
    else if (it->is_array())
        for (const auto& v : *it)
            if (v.is_number_integer()) layers.push_back(v.get<int64_t>());
    int64_t used = -1;  // blocks run
    for (int64_t layer : layers) used = std::max(used, layer < 0 ? blocks + 1 + layer : layer);
    if (used < 0 || l.block < used) return {};
    return "never run: vision_feature_layer " + (it == config.end() ? std::string("-2") : it->dump()) +
           " takes the vision features before block " + std::to_string(used);
}

std::unique_ptr<Vlm> make_llava(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Llava>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec llava_family() {
    // Both the older Hub layout (language_model.model.*, vision_tower.*) and the newer one
    // (model.language_model.*) are covered.
    FamilySpec f{"llava", "LLaVA-1.5", {"llava"},
                 {{"(model\\.)?vision_tower\\.", Modality::Vision},
                  {"(model\\.)?multi_modal_projector\\.", Modality::Projector},
                  {"(model\\.)?language_model\\.", Modality::Language}},
                 llava_unused};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.chat_template = "USER: {image}\n{question} ASSISTANT:";
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", true}};
    f.factory = make_llava;
    return f;
}

}  // namespace ps
