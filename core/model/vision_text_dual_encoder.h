// VisionTextDualEncoder (VisionTextDualEncoderModel): a CLIP or ViT vision tower and a BERT text
// tower joined by linear projections and a learned logit scale, as LiT-style models are built.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

// VisionTextDualEncoderModel (a ViT and a BERT): name patterns, capabilities and factory.
FamilySpec vision_text_dual_encoder_family();

}  // namespace ps
