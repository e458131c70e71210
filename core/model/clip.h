// CLIP (CLIPModel): ViT vision tower and causal text tower, projections and logit scale. The
// tower pieces are shared with the families built from CLIP parts (LLaVA's vision tower, SigLIP's
// encoder blocks, VisionTextDualEncoder with a CLIP vision tower).
#pragma once
#include <memory>
#include <string>

#include "core/model/config_reader.h"
#include "core/model/vlm.h"

namespace ps {

struct ClipTowerConfig {
    int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0;
    std::string act;
    double eps = 1e-5;
    // vision
    int64_t image_size = 0, patch_size = 0, channels = 3;
    // text
    int64_t vocab = 0, max_positions = 0, eos_token_id = 0;
};
ClipTowerConfig clip_vision_config(const ConfigReader& c);  // CLIPVisionConfig defaults
ClipTowerConfig clip_text_config(const ConfigReader& c);    // CLIPTextConfig defaults

// Pre-norm encoder block shared by CLIP, SigLIP and their derivatives: layer_norm1, self_attn
// {q,k,v,out}_proj, layer_norm2, mlp.fc1/fc2. `p` is the block prefix ending in '.'.
void clip_encoder_block(const WeightStore& w, const std::string& p, const ClipTowerConfig& c, StageState& s,
                        at::Tensor* probs);

// Patch + class + position embeddings followed by pre_layrnorm; `p` is e.g. "vision_model.".
StageState clip_vision_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                             const at::Tensor& pixel_values);
// Token + position embeddings with a causal (and padding) mask.
StageState clip_text_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                           const at::Tensor& input_ids, const at::Tensor& attention_mask);
// Pooled outputs: post_layernorm of the class token; final-normed hidden state at the EOS token.
at::Tensor clip_vision_pooled(const WeightStore& w, const std::string& p, const ClipTowerConfig& c,
                              const at::Tensor& hidden);
at::Tensor clip_text_pooled(const ClipTowerConfig& c, const at::Tensor& hidden, const at::Tensor& input_ids);

// Similarity logits of L2-normalised embeddings, scaled by exp(logit_scale) (+ bias for SigLIP).
void dual_encoder_logits(VlmOutputs& out, const at::Tensor& image_embeds, const at::Tensor& text_embeds,
                         const at::Tensor& logit_scale, const at::Tensor& logit_bias = {});

// CLIP (CLIPModel): name patterns, capabilities and factory.
FamilySpec clip_family();

}  // namespace ps
