// VisionTextDualEncoder (VisionTextDualEncoderModel): a CLIP or ViT vision tower and a BERT text
// tower joined by linear projections and a learned logit scale, as LiT-style models are built.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

std::unique_ptr<Vlm> make_vision_text_dual_encoder(ModelMap map, std::unique_ptr<WeightStore> weights);

}  // namespace ps
