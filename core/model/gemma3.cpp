#include "core/model/gemma3.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/config_reader.h"
#include "core/model/image_token_vlm.h"
#include "core/model/layers.h"
#include "core/model/siglip.h"

namespace ps {
namespace {

class Gemma3 : public ImageTokenVlm {
public:
    Gemma3(ModelMap map, std::unique_ptr<WeightStore> weights) : ImageTokenVlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        vision_ = siglip_vision_config(cfg.sub("vision_config"));
        text_ = multimodal_text_config(ckpt.config(), path, "gemma3_text");
        text_.bidirectional_images = true;  // Gemma3Processor's token_type_ids: each image's tokens see each other
        image_token_ = cfg.integer("image_token_index", 262144);
        side_ = vision_.image_size / vision_.patch_size;
        const int64_t tokens = cfg.integer("mm_tokens_per_image", 256);
        const auto per_side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(tokens, 0)))));
        if (tokens <= 0 || per_side * per_side != tokens || side_ % per_side)
            throw Error(path, "mm_tokens_per_image " + std::to_string(tokens) + " is not a square grid that pools the vision tower's " +
                                  std::to_string(side_) + " x " + std::to_string(side_) + " patches evenly");
        pool_ = side_ / per_side;
        map_.capabilities.view_tokens = tokens;

        const std::string root = hub_or_module_layout();
        vision_prefix_ = root + "vision_tower.vision_model.";
        projector_prefix_ = root + "multi_modal_projector.";
        set_towers(vision_.layers);
    }

protected:
    StageState vision_embed(const VlmInputs& in) const override {
        return siglip_vision_embed(*weights_, vision_prefix_, vision_, square_views(in.pixel_values, vision_.image_size));
    }

    void vision_block(int index, StageState& s, at::Tensor* probs) const override {
        clip_encoder_block(*weights_, vision_prefix_ + "encoder.layers." + std::to_string(index) + ".", vision_, s, probs);
    }

    // post_layernorm, then Gemma3MultiModalProjector: the patch grid average-pooled, normed and
    // projected.
    void vision_finish(StageState& s) const override {
        const WeightStore& w = *weights_;
        const std::string n = vision_prefix_ + "post_layernorm.", p = projector_prefix_;
        const int64_t d = vision_.hidden;
        at::Tensor x = layer_norm(s.hidden, w.get(n + "weight"), w.get(n + "bias"), vision_.eps);
        x = at::avg_pool2d(x.transpose(1, 2).reshape({x.size(0), d, side_, side_}).contiguous(), {pool_, pool_}, {pool_, pool_})
                .flatten(2)
                .transpose(1, 2);
        x = gemma_rms_norm(x, w.get(p + "mm_soft_emb_norm.weight", {d}), vision_.eps);
        s = StageState{};
        s.hidden = at::matmul(x, w.get(p + "mm_input_projection_weight", {d, text_.hidden})).to(x.scalar_type());
    }

private:
    ClipTowerConfig vision_;
    int64_t side_ = 0, pool_ = 1;
    std::string vision_prefix_, projector_prefix_;
};

std::unique_ptr<Vlm> make_gemma3(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Gemma3>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec gemma3_family() {
    FamilySpec f = image_token_family("gemma3", "Gemma 3", "gemma3");
    Capabilities& c = f.capabilities;
    c.vision_cls = false;  // SigLIP: every vision token is a patch
    c.chat_template = "<start_of_turn>user\n{image}{question}<end_of_turn>\n<start_of_turn>model\n";
    c.image_start = "<start_of_image>";
    c.image_end = "<end_of_image>";
    c.image_spacing = "\n\n";
    f.factory = make_gemma3;
    return f;
}

}  // namespace ps
