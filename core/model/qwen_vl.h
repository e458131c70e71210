// The Qwen-VL line: Qwen2-VL, Qwen2.5-VL (Qwen2VLForConditionalGeneration,
// Qwen2_5_VLForConditionalGeneration) and Qwen3-VL (Qwen3VLForConditionalGeneration). A
// native-resolution vision tower over patches of the image repeated in time (Conv3d patch
// embedding, 2-D rotary positions; Qwen2.5-VL with RMSNorm, a gated MLP and window attention but at
// fullatt_block_indexes; Qwen3-VL with a learned position table interpolated to each grid), its
// patch merger (2 x 2 patches into one token: the projector), and a Qwen2 (Qwen3: q/k norms)
// decoder with multimodal rotary positions (time, row, column per token; interleaved in Qwen3-VL)
// reading the merged tokens at <|image_pad|>. Qwen3-VL's DeepStack merges the outputs of a few
// vision blocks too and adds them to the image tokens after the decoder's first layers. Towers:
// vision (its finish merges), then language. Loads the Hub layout (visual.*, model.*) and the module
// layout (model.visual.*, model.language_model.*).
#pragma once
#include "core/model/family.h"

namespace ps {

FamilySpec qwen2_vl_family();
FamilySpec qwen3_vl_family();

}  // namespace ps
