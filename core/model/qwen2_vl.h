// Qwen2-VL and Qwen2.5-VL (Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration):
// a native-resolution vision tower over 14 x 14 patches of the image repeated in time (Conv3d patch
// embedding, 2-D rotary positions; Qwen2.5-VL with RMSNorm, a gated MLP and window attention but at
// fullatt_block_indexes), its patch merger (2 x 2 patches into one token: the projector), and a
// Qwen2 decoder with multimodal rotary positions (time, row, column per token) reading the merged
// tokens at <|image_pad|>. Towers: vision (its finish merges), then language. Loads the Hub layout
// (visual.*, model.*) and the module layout (model.visual.*, model.language_model.*).
#pragma once
#include "core/model/family.h"

namespace ps {

FamilySpec qwen2_vl_family();

}  // namespace ps
