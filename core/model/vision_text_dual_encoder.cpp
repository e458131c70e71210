#include "core/model/vision_text_dual_encoder.h"

#include "core/error.h"
#include "core/model/bert.h"
#include "core/model/clip.h"
#include "core/model/layers.h"

namespace ps {
namespace {

class VisionTextDualEncoder : public Vlm {
public:
    VisionTextDualEncoder(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const ConfigReader cfg(weights_->checkpoint().config(), weights_->checkpoint().config_path());
        const ConfigReader vc = cfg.sub("vision_config"), tc = cfg.sub("text_config");
        const std::string vtype = vc.string("model_type", ""), ttype = tc.string("model_type", "");
        if (vtype == "clip_vision_model" || vtype == "clip") {
            clip_vision_ = true;
            clip_ = clip_vision_config(vc);
        } else if (vtype == "vit") {
            vit_ = vit_config(vc);
        } else {
            throw Error(cfg.path(), "vision_config.model_type \"" + vtype + "\" is not supported (use clip_vision_model or vit)");
        }
        if (ttype != "bert") throw Error(cfg.path(), "text_config.model_type \"" + ttype + "\" is not supported (use bert)");
        bert_ = bert_config(tc);
        const int vision_blocks = static_cast<int>(clip_vision_ ? clip_.layers : vit_.layers);
        towers_ = {{"vision", Modality::Vision, vision_blocks}, {"text", Modality::Language, static_cast<int>(bert_.layers)}};
    }

    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>&) const override {
        if (tower == 1) return bert_embed(*weights_, "text_model.", bert_, in.input_ids, in.attention_mask);
        if (clip_vision_) return clip_vision_embed(*weights_, kClipPrefix, clip_, in.pixel_values);
        return vit_embed(*weights_, "vision_model.", vit_, in.pixel_values);
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        const std::string n = std::to_string(i) + ".";
        if (tower == 1) return bert_block(*weights_, "text_model.encoder.layer." + n, bert_, s, probs);
        if (clip_vision_) return clip_encoder_block(*weights_, std::string(kClipPrefix) + "encoder.layers." + n, clip_, s, probs);
        vit_block(*weights_, "vision_model.encoder.layer." + n, vit_, s, probs);
    }

    void finish(int tower, StageState& s) const override {
        if (tower == 0 && !clip_vision_) vit_finish(*weights_, "vision_model.", vit_, s);
    }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        const WeightStore& w = *weights_;
        at::Tensor pooled_v = clip_vision_ ? clip_vision_pooled(w, kClipPrefix, clip_, t[0].hidden)
                                           : vit_pool(w, "vision_model.", vit_, t[0].hidden);
        const at::Tensor pooled_t = bert_pool(w, "text_model.", t[1].hidden);
        at::Tensor img = w.linear("visual_projection", pooled_v, w.rows("visual_projection.weight"), pooled_v.size(-1), false);
        at::Tensor txt = w.linear("text_projection", pooled_t, w.rows("text_projection.weight"), pooled_t.size(-1), false);
        VlmOutputs out;
        dual_encoder_logits(out, img, txt, w.get("logit_scale"));
        return out;
    }

private:
    static constexpr const char* kClipPrefix = "vision_model.vision_model.";
    bool clip_vision_ = false;
    ClipTowerConfig clip_;
    BertStyleConfig vit_, bert_;
};

std::unique_ptr<Vlm> make_vision_text_dual_encoder(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<VisionTextDualEncoder>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec vision_text_dual_encoder_family() {
    FamilySpec f{"vision-text-dual-encoder", "VisionTextDualEncoder", {"vision-text-dual-encoder"}, dual_encoder_prefixes(true)};
    f.capabilities = dual_encoder_capabilities();
    f.factory = make_vision_text_dual_encoder;
    return f;
}

}  // namespace ps
