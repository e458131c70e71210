// SigLIP (SiglipModel): CLIP-style encoder blocks, patch embeddings without a class token, a
// multi-head attention pooling head on the vision side, last-token pooling on the text side, and
// sigmoid-loss logits with a learned bias.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

std::unique_ptr<Vlm> make_siglip(ModelMap map, std::unique_ptr<WeightStore> weights);

}  // namespace ps
