// SigLIP (SiglipModel): CLIP-style encoder blocks, patch embeddings without a class token, a
// multi-head attention pooling head on the vision side, last-token pooling on the text side, and
// sigmoid-loss logits with a learned bias. Its vision tower is shared with LLaVA-OneVision.
#pragma once
#include <memory>
#include <string>

#include "core/model/clip.h"
#include "core/model/vlm.h"

namespace ps {

// SiglipVisionConfig's sizes over its defaults (its blocks run with clip_encoder_block).
ClipTowerConfig siglip_vision_config(const ConfigReader& c);
// Patch embeddings plus position embeddings, no class token; `p` is e.g. "vision_model.".
StageState siglip_vision_embed(const WeightStore& w, const std::string& p, const ClipTowerConfig& c, const at::Tensor& pixel_values);

// SigLIP and SigLIP 2 (SiglipModel): name patterns, capabilities and factory.
FamilySpec siglip_family();

}  // namespace ps
