// InternVL (InternVLForConditionalGeneration, model_type "internvl"): InternViT — a ViT with a [CLS]
// token, learned absolute positions, LayerNorm or RMSNorm (norm_type), optional q/k RMSNorms over
// the whole width and layer scale (lambda_1, lambda_2) on both residual branches — whose last hidden
// state (through its final layernorm unless use_mean_pooling) loses its [CLS], is pixel-shuffled
// (each 2 x 2 patches' features side by side, downsample_ratio 0.5) and projected (LayerNorm,
// linear, GELU, linear) onto the image tokens of a Qwen2 (or LLaMA) decoder. Images come as tiles
// and, for more than one tile, a thumbnail (pixel_values [views, 3, H, W], image_tiles [images, 2]),
// every view image_seq_length tokens, as GotOcr2ImageProcessor and InternVLProcessor write them.
// Loads the Hub layout (language_model.model.*) and the module layout (model.language_model.*).
#pragma once
#include "core/model/causal_vlm.h"
#include "core/model/family.h"

namespace ps {

// InternVL: name patterns, capabilities and factory.
FamilySpec internvl_family();

}  // namespace ps
