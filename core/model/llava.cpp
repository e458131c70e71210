#include "core/model/llava.h"

#include <algorithm>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/model/anyres.h"
#include "core/model/clip.h"
#include "core/model/config_reader.h"
#include "core/model/layers.h"
#include "core/model/image_token_vlm.h"
#include "core/model/siglip.h"
#include "core/model/vit.h"

namespace ps {

namespace {

// The generations of LLaVA this file runs, by config.json's model_type.
enum class Generation { V15, Next, OneVision };

Generation generation_of(const nlohmann::json& config) {
    const auto it = config.find("model_type");
    const std::string type = it != config.end() && it->is_string() ? it->get<std::string>() : "llava";
    return type == "llava_next" ? Generation::Next : type == "llava_onevision" ? Generation::OneVision : Generation::V15;
}

// vision_feature_layer when config.json has none: the config class's default.
int64_t default_feature_layer(Generation g) { return g == Generation::OneVision ? -1 : -2; }

class Llava : public ImageTokenVlm, public TiledVlm {
public:
    Llava(ModelMap map, std::unique_ptr<WeightStore> weights) : ImageTokenVlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        const Generation generation = generation_of(ckpt.config());
        const bool onevision = generation == Generation::OneVision;
        tiled_ = generation != Generation::V15;

        const ConfigReader vc = cfg.sub("vision_config");
        const std::string vision_type = vc.string("model_type", onevision ? "siglip_vision_model" : "clip_vision_model");
        if (vision_type != "clip_vision_model" && vision_type != "vit" && vision_type != "siglip_vision_model")
            throw Error(path, "vision_config.model_type \"" + vision_type +
                                  "\" is not supported (LLaVA runs with a CLIP, SigLIP or ViT vision tower)");
        vit_ = vision_type == "vit";
        siglip_ = vision_type == "siglip_vision_model";
        vision_ = siglip_ ? siglip_vision_config(vc) : clip_vision_config(vc);
        if (vit_) {  // ViTModel (transformers' AutoModel for a "vit" config): sizes as ViTConfig reads them
            vit_config_ = vit_config(vc);
            vision_.hidden = vit_config_.hidden;
            vision_.layers = vit_config_.layers;
        }
        if (!cfg.has("vision_config")) {
            // The config class's own default: CLIP ViT-L/14 at 336 px (LLaVA), SigLIP-so400m/14 at 384 (OneVision).
            vision_.hidden = onevision ? 1152 : 1024;
            vision_.intermediate = onevision ? 4304 : 4096;
            vision_.layers = onevision ? 26 : 24;
            vision_.heads = 16;
            vision_.patch_size = 14;
            vision_.image_size = onevision ? 384 : 336;
        }
        text_ = multimodal_text_config(ckpt.config(), path, onevision ? "qwen2" : "llama");

        image_token_ = cfg.integer("image_token_index", cfg.integer("image_token_id", onevision ? 151646 : 32000));
        projector_act_ = cfg.string("projector_hidden_act", "gelu");
        projector_bias_ = cfg.boolean("multimodal_projector_bias", true);
        const std::string strategy = cfg.string("vision_feature_select_strategy", onevision ? "full" : "default");
        if (strategy != "default" && strategy != "full")
            throw Error(path, "vision_feature_select_strategy must be \"default\" or \"full\", not \"" + strategy + "\"");
        keep_cls_ = strategy == "full";
        map_.capabilities.image_tokens_follow_vision = !tiled_;
        if (tiled_) {
            // Tiles of the vision tower's image size at image_grid_pinpoints (the config class's by default).
            geometry_.tile = vision_.image_size;
            geometry_.side = vision_.image_size / vision_.patch_size;
            geometry_.pinpoints = {{336, 672}, {672, 336}, {672, 672}, {1008, 336}, {336, 1008}};
            if (onevision) {  // 1x1 to 6x6 tiles of 384 pixels, at most 9 tiles' worth of features
                geometry_.pinpoints.clear();
                for (int h = 384; h <= 2304; h += 384)
                    for (int w = 384; w <= 2304; w += 384) geometry_.pinpoints.push_back({h, w});
                const std::string ratio = cfg.string("vision_aspect_ratio", "anyres_max_9");
                const std::string prefix = "anyres_max_";
                const std::string n = ratio.rfind(prefix, 0) == 0 ? ratio.substr(prefix.size()) : "";
                if (n.empty() || n.size() > 6 || !std::all_of(n.begin(), n.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
                    std::stoi(n) == 0)
                    throw Error(path, "vision_aspect_ratio must be \"anyres_max_N\" with N a positive number of tiles, not \"" +
                                          ratio + "\"");
                geometry_.max_tiles = std::stoi(n);
            }
            if (const auto it = ckpt.config().find("image_grid_pinpoints"); it != ckpt.config().end()) {
                geometry_.pinpoints.clear();
                if (it->is_array())
                    for (const auto& p : *it)
                        if (p.is_array() && p.size() == 2 && p[0].is_number_integer() && p[1].is_number_integer() &&
                            p[0].get<int64_t>() >= geometry_.tile && p[1].get<int64_t>() >= geometry_.tile &&
                            p[0].get<int64_t>() <= 8192 && p[1].get<int64_t>() <= 8192)
                            geometry_.pinpoints.push_back({p[0].get<int>(), p[1].get<int>()});
                if (!it->is_array() || it->empty() || geometry_.pinpoints.size() != it->size())
                    throw Error(path, "image_grid_pinpoints must be a list of [height, width] of at least one " +
                                          std::to_string(geometry_.tile) + "-pixel tile and at most 8192 pixels, not " + it->dump());
            }
            // "default" drops the first token, "full" keeps it: a tile's features fill its grid only
            // when that token is a [CLS] dropped (CLIP, ViT) or there is none to drop (SigLIP).
            if (keep_cls_ == !siglip_)
                throw Error(path, "vision_feature_select_strategy \"" + strategy + "\" " +
                                      (siglip_ ? "drops the first patch of a SigLIP tower's tiles" : "keeps the vision tower's [CLS] token") +
                                      ", which a tiled image's feature grid has no place for");
        }
        // hidden_states[k] of the vision tower is the output of its first k blocks (k < 0 counts back
        // from layers + 1), taken without post_layernorm.
        const int64_t layer = cfg.integer("vision_feature_layer", default_feature_layer(generation));
        const int64_t blocks = layer < 0 ? vision_.layers + 1 + layer : layer;
        if (blocks < 0 || blocks > vision_.layers)
            throw Error(path, "vision_feature_layer " + std::to_string(layer) + " is outside the vision tower's " +
                                  std::to_string(vision_.layers) + " layers");

        const std::string root = hub_or_module_layout();
        vision_prefix_ = root + (vit_ ? "vision_tower." : "vision_tower.vision_model.");
        projector_prefix_ = root + "multi_modal_projector.";
        newline_name_ = root + "image_newline";

        set_towers(blocks);
    }

    const AnyresGeometry* anyres() const override { return tiled_ ? &geometry_ : nullptr; }

protected:
    StageState vision_embed(const VlmInputs& in) const override {
        const at::Tensor pixels = tiled_ ? views(in) : in.pixel_values;
        if (vit_) return vit_embed(*weights_, vision_prefix_, vit_config_, pixels);
        return siglip_ ? siglip_vision_embed(*weights_, vision_prefix_, vision_, pixels)
                       : clip_vision_embed(*weights_, vision_prefix_, vision_, pixels);
    }

    void vision_block(int i, StageState& s, at::Tensor* probs) const override {
        if (vit_) vit_block(*weights_, vision_prefix_ + "encoder.layer." + std::to_string(i) + ".", vit_config_, s, probs);
        else clip_encoder_block(*weights_, vision_prefix_ + "encoder.layers." + std::to_string(i) + ".", vision_, s, probs);
    }

    void vision_finish(StageState& s) const override {
        // transformers' ViTModel and SiglipVisionModel report their last hidden state after their
        // final layernorm (hidden_states[-1] is last_hidden_state), so features taken from the last
        // block are normalised; CLIP's are not.
        const WeightStore& w = *weights_;
        if (towers_[0].num_blocks == vision_.layers) {
            if (vit_) vit_finish(w, vision_prefix_, vit_config_, s);
            if (siglip_)
                s.hidden = layer_norm(s.hidden, w.get(vision_prefix_ + "post_layernorm.weight"),
                                      w.get(vision_prefix_ + "post_layernorm.bias"), vision_.eps);
        }
        const std::string& p = projector_prefix_;
        at::Tensor x = keep_cls_ ? s.hidden : s.hidden.slice(1, 1);
        x = activation(w.linear(p + "linear_1", x, text_.hidden, vision_.hidden, projector_bias_), projector_act_);
        s = StageState{};
        s.hidden = w.linear(p + "linear_2", x, text_.hidden, text_.hidden, projector_bias_);
    }

    // Each image's [P,D] (LLaVA-1.5), or for a tiled model its global view's features, then its
    // tiles' feature map with the padding cut off (and for OneVision scaled down to anyres_max
    // tiles' worth) and image_newline after each row (transformers' pack_image_features).
    at::Tensor image_features(const at::Tensor& features, const VlmInputs& in) const override {
        return tiled_ ? pack(features, in.image_sizes) : features.flatten(0, 1);
    }

    std::string feature_source(const at::Tensor& features, const VlmInputs& in) const override {
        return "the " + std::to_string(!features.defined() ? 0 : tiled_ ? in.image_sizes.size(0) : features.size(0)) + " image(s)";
    }

private:
    // Each image's views (global, then tiles) out of pixel_values [images, views, 3, H, W] (padded
    // to the most views) or [views, 3, H, W] (all images' views one after another), by image_sizes.
    at::Tensor views(const VlmInputs& in) const {
        if (!in.image_sizes.defined() || in.image_sizes.dim() != 2 || in.image_sizes.size(1) != 2)
            throw Error("image_sizes", "a tiled model (LLaVA-NeXT, OneVision) takes each image's [height, width] with its pixel_values");
        const at::Tensor sizes = in.image_sizes.to(at::kCPU, at::kLong);
        const at::Tensor& px = in.pixel_values;
        if (px.dim() == 5 && px.size(0) != sizes.size(0))
            throw Error("pixel_values", shape_string(px) + " holds " + std::to_string(px.size(0)) + " images, image_sizes " +
                                            std::to_string(sizes.size(0)));
        std::vector<at::Tensor> parts;
        int64_t total = 0;
        for (int64_t i = 0; i < sizes.size(0); ++i) {
            const AnyresLayout l = geometry_.layout(sizes[i][0].item<int64_t>(), sizes[i][1].item<int64_t>());
            const int64_t n = 1 + l.grid_rows * l.grid_cols;
            if (px.dim() == 5) {
                if (px.size(1) < n)
                    throw Error("pixel_values", "image " + std::to_string(i) + " needs " + std::to_string(n) + " views (" +
                                                    std::to_string(l.grid_rows) + "x" + std::to_string(l.grid_cols) +
                                                    " tiles and the global view); pixel_values " + shape_string(px) + " has not");
                parts.push_back(px[i].narrow(0, 0, n));
            }
            total += n;
        }
        if (px.dim() == 5) return at::cat(parts);
        if (px.dim() != 4 || px.size(0) != total)
            throw Error("pixel_values", shape_string(px) + " is not the " + std::to_string(total) + " views image_sizes asks for");
        return px;
    }

    // Every image's views' features [views, side^2, D] packed as image tokens [tokens, D].
    at::Tensor pack(const at::Tensor& features, const at::Tensor& image_sizes) const {
        const at::Tensor sizes = image_sizes.to(at::kCPU, at::kLong);
        const int64_t side = geometry_.side, d = features.size(-1);
        if (features.size(1) != side * side)
            throw Error("pixel_values", std::to_string(features.size(1)) + " features per view, not the " +
                                            std::to_string(side) + "x" + std::to_string(side) + " grid a tile gives");
        const at::Tensor newline = weights_->get(newline_name_, {d}).to(features.scalar_type());
        std::vector<at::Tensor> out;
        int64_t view = 0;
        for (int64_t i = 0; i < sizes.size(0); ++i) {
            const AnyresLayout l = geometry_.layout(sizes[i][0].item<int64_t>(), sizes[i][1].item<int64_t>());
            const int64_t tiles = l.grid_rows * l.grid_cols;
            out.push_back(features[view]);
            at::Tensor grid = features.narrow(0, view + 1, tiles)
                                  .view({l.grid_rows, l.grid_cols, side, side, d})
                                  .permute({4, 0, 2, 1, 3})
                                  .reshape({d, l.grid_rows * side, l.grid_cols * side})
                                  .narrow(1, l.row0, l.rows)
                                  .narrow(2, l.col0, l.cols);
            if (l.packed_rows != l.rows || l.packed_cols != l.cols)
                grid = at::upsample_bilinear2d(grid.unsqueeze(0), {l.packed_rows, l.packed_cols}, false)[0];
            out.push_back(at::cat({grid, newline.view({d, 1, 1}).expand({d, l.packed_rows, 1})}, 2).reshape({d, -1}).t());
            view += 1 + tiles;
        }
        return at::cat(out);
    }

    ClipTowerConfig vision_;
    bool vit_ = false;     // a ViTModel vision tower (vit_config_) instead of CLIP's
    bool siglip_ = false;  // a SigLIP vision tower (no [CLS]; CLIP's blocks)
    BertStyleConfig vit_config_;
    std::string projector_act_;
    bool projector_bias_ = true, keep_cls_ = false;
    std::string vision_prefix_, projector_prefix_, newline_name_;
    bool tiled_ = false;  // LLaVA-NeXT, OneVision: images as tiles and a global view (geometry_), packed with image_newline
    AnyresGeometry geometry_;
};

// LLaVA takes the vision features from hidden_states[vision_feature_layer] (-2 by default: before
// the last block), so the blocks from there on never run. A list of layers (features concatenated
// from several) runs up to the deepest.
std::string llava_unused(const nlohmann::json& config, const LinearLayer& l, int blocks) {
    if (l.modality != Modality::Vision || l.block < 0) return {};
    const auto it = config.find("vision_feature_layer");
    const int64_t fallback = default_feature_layer(generation_of(config));
    std::vector<int64_t> layers;
    if (it == config.end()) layers = {fallback};
    else if (it->is_number_integer()) layers = {it->get<int64_t>()};
    else if (it->is_array())
        for (const auto& v : *it)
            if (v.is_number_integer()) layers.push_back(v.get<int64_t>());
    int64_t used = -1;  // blocks run
    for (int64_t layer : layers) used = std::max(used, layer < 0 ? blocks + 1 + layer : layer);
    if (used < 0 || l.block < used) return {};
    return "never run: vision_feature_layer " + (it == config.end() ? std::to_string(fallback) : it->dump()) +
           " takes the vision features before block " + std::to_string(used);
}

std::unique_ptr<Vlm> make_llava(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<Llava>(std::move(map), std::move(weights));
}

// LLaVA-1.5, LLaVA-NeXT and LLaVA-OneVision share names, capabilities and factory.
FamilySpec llava_spec(std::string id, std::string display, std::string model_type) {
    FamilySpec f = image_token_family(std::move(id), std::move(display), std::move(model_type));
    f.unused = llava_unused;
    f.capabilities.chat_template = "USER: {image}\n{question} ASSISTANT:";
    f.factory = make_llava;
    return f;
}

}  // namespace

FamilySpec llava_family() { return llava_spec("llava", "LLaVA-1.5", "llava"); }

FamilySpec llava_next_family() { return llava_spec("llava_next", "LLaVA-NeXT", "llava_next"); }

FamilySpec llava_onevision_family() {
    FamilySpec f = llava_spec("llava_onevision", "LLaVA-OneVision", "llava_onevision");
    f.capabilities.vision_cls = false;  // SigLIP: every vision token is a patch
    f.capabilities.chat_template = "<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n";
    return f;
}

}  // namespace ps
