// Idefics3 and SmolVLM (Idefics3ForConditionalGeneration, SmolVLMForConditionalGeneration): a
// SigLIP-style vision tower (CLIP's blocks, no [CLS], post_layernorm) whose patches, pixel-shuffled
// by scale_factor (each f x f patches' features side by side) and projected without bias by the
// connector (model.connector.modality_projection.proj), take the image tokens of a LLaMA decoder
// (SmolLM2 in SmolVLM). Images come as Idefics3ImageProcessor writes them: split into a grid of
// tiles and a global view (pixel_values [views, 3, H, W] with image_tiles [images, 2]), or as
// transformers' processor batches them ([B, N, 3, H, W], all-zero views as padding); the prompt
// marks each tile with <row_r_col_c> and the global view with <global-img> (Capabilities::tile_markers).
#pragma once
#include "core/model/family.h"

namespace ps {

// Idefics3 / SmolVLM: name patterns, capabilities and factory.
FamilySpec idefics3_family();

}  // namespace ps
