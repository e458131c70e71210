#include "core/model/idefics3.h"

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/config_reader.h"
#include "core/model/image_token_vlm.h"
#include "core/model/layers.h"

namespace ps {
namespace {

// Idefics3VisionConfig (SmolVLMVisionConfig alike) over its defaults.
ClipTowerConfig idefics3_vision_config(const ConfigReader& c) {
    ClipTowerConfig v;
    v.hidden = c.integer("hidden_size", 1152);
    v.intermediate = c.integer("intermediate_size", 3072);
    v.layers = c.integer("num_hidden_layers", 12);
    v.heads = c.integer("num_attention_heads", 16);
    v.act = c.string("hidden_act", "gelu_pytorch_tanh");
    v.eps = c.number("layer_norm_eps", 1e-6);
    v.image_size = c.integer("image_size", 224);
    v.patch_size = c.integer("patch_size", 32);
    if (v.heads <= 0 || v.hidden % v.heads || v.patch_size <= 0 || v.image_size < v.patch_size)
        throw Error(c.path(), "vision_config: hidden_size must split into num_attention_heads and image_size hold a patch");
    return v;
}

class Idefics3 : public ImageTokenVlm {
public:
    Idefics3(ModelMap map, std::unique_ptr<WeightStore> weights) : ImageTokenVlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        vision_ = idefics3_vision_config(cfg.sub("vision_config"));
        text_ = multimodal_text_config(ckpt.config(), path, "llama");
        image_token_ = cfg.integer("image_token_id", 128257);
        scale_ = cfg.integer("scale_factor", 2);
        side_ = vision_.image_size / vision_.patch_size;
        if (scale_ <= 0 || side_ % scale_)
            throw Error(path, "scale_factor " + std::to_string(scale_) + " does not divide the " + std::to_string(side_) +
                                  " patches a side of the vision tower's images");
        map_.capabilities.view_tokens = (side_ / scale_) * (side_ / scale_);
        positions_ = patch_positions(side_);
        vision_prefix_ = "model.vision_model.";
        language_prefix_ = "model.text_model.";
        head_name_ = "lm_head.weight";
        set_towers(vision_.layers);
    }

protected:
    // Patch embeddings plus the position embeddings of each patch's place. Views [V, 3, S, S] of
    // the tower's image size, or transformers' [B, N, 3, S, S] whose all-zero views are padding.
    StageState vision_embed(const VlmInputs& in) const override {
        const WeightStore& w = *weights_;
        const std::string e = vision_prefix_ + "embeddings.";
        at::Tensor px = in.pixel_values;
        if (px.dim() == 5) {
            px = px.flatten(0, 1);
            px = px.index({px.ne(0).flatten(1).any(1)});
        }
        px = square_views(px, vision_.image_size);
        const at::Tensor x = at::conv2d(px, w.get(e + "patch_embedding.weight"), w.get(e + "patch_embedding.bias"), vision_.patch_size)
                                 .flatten(2)
                                 .transpose(1, 2);
        const at::Tensor table = w.get(e + "position_embedding.weight", {side_ * side_, vision_.hidden});
        StageState s;
        s.hidden = x + table.index_select(0, positions_.to(table.device())).unsqueeze(0);
        return s;
    }

    void vision_block(int index, StageState& s, at::Tensor* probs) const override {
        clip_encoder_block(*weights_, vision_prefix_ + "encoder.layers." + std::to_string(index) + ".", vision_, s, probs);
    }

    // post_layernorm, the pixel shuffle and the connector's projection.
    void vision_finish(StageState& s) const override {
        const WeightStore& w = *weights_;
        const std::string n = vision_prefix_ + "post_layernorm.";
        const at::Tensor x = pixel_shuffle(layer_norm(s.hidden, w.get(n + "weight"), w.get(n + "bias"), vision_.eps), side_, scale_);
        s = StageState{};
        s.hidden = w.linear("model.connector.modality_projection.proj", x, text_.hidden, x.size(2), false);
    }

private:
    // The position id of each patch of a full side x side image as Idefics3VisionEmbeddings gives
    // it: its row and column bucketed into the side x side grid of positions, in float32 as
    // transformers 4.54 computes them (the formula the models were trained with; 4.55 to 4.57
    // compute float32 ids shifted by one, transformers issue 41190).
    static at::Tensor patch_positions(int64_t side) {
        const double step = 1.0 / static_cast<double>(side);
        const at::Tensor boundaries = at::arange(step, 1.0, step, at::kFloat);
        const at::Tensor coords = at::arange(0.0, 1.0 - 1e-6, static_cast<double>(static_cast<float>(step)), at::kFloat);
        const at::Tensor buckets = at::bucketize(coords, boundaries, /*out_int32=*/false, /*right=*/true);
        return (buckets.unsqueeze(1) * side + buckets.unsqueeze(0)).flatten();
    }

    ClipTowerConfig vision_;
    int64_t scale_ = 2, side_ = 0;
    at::Tensor positions_;  // [side^2] int64
    std::string vision_prefix_;
};

std::unique_ptr<Vlm> make_idefics3(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Idefics3>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec idefics3_family() {
    FamilySpec f{"idefics3", "Idefics3 / SmolVLM", {"idefics3", "smolvlm"},
                 {{"model\\.vision_model\\.", Modality::Vision},
                  {"model\\.connector\\.", Modality::Projector},
                  {"model\\.text_model\\.", Modality::Language}}};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.vision_cls = false;  // every vision token is a patch
    c.chat_template = "<|im_start|>User:{image| }{question}<end_of_utterance>\nAssistant:";
    c.image_start = c.image_end = "<fake_token_around_image>";
    c.tile_markers = true;
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", true}};
    f.factory = make_idefics3;
    return f;
}

}  // namespace ps
