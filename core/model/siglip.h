// SigLIP (SiglipModel): CLIP-style encoder blocks, patch embeddings without a class token, a
// multi-head attention pooling head on the vision side, last-token pooling on the text side, and
// sigmoid-loss logits with a learned bias.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

// SigLIP and SigLIP 2 (SiglipModel): name patterns, capabilities and factory.
FamilySpec siglip_family();

}  // namespace ps
