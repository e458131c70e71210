// LLaVA-1.5 (LlavaForConditionalGeneration): a CLIP (or ViT) vision tower whose `vision_feature_layer`
// output goes through a 2-layer projector into the image-token positions of a LLaMA decoder.
// LLaVA-NeXT (LlavaNextForConditionalGeneration) runs the same towers on each image's tiles and
// global view (pixel_values [images, views, 3, H, W] with image_sizes) and packs their features as
// transformers does: the global view's, then the tiles' feature map with the padding cut off and
// image_newline after each row (core/model/anyres.h); its decoder may also be Mistral or Qwen2.
// LLaVA-OneVision (LlavaOnevisionForConditionalGeneration) is LLaVA-NeXT with a SigLIP tower, all of
// whose tokens are features, a Qwen2 decoder, and each tiled image's feature map scaled down
// (bilinear) to at most anyres_max_N tiles' worth. Images are each tiled, as transformers does for
// a prompt's images given as one flat list.
// Towers: vision (its finish selects the features and projects them), then language (its embed
// scatters them into input_ids' image tokens, which come already expanded to image_seq_length per
// image, as LlavaProcessor writes them). Loads the Hub layout (language_model.model.*) and the
// newer module layout (model.language_model.*).
#pragma once
#include "core/model/causal_vlm.h"
#include "core/model/family.h"

namespace ps {

// LLaVA-1.5 (LlavaForConditionalGeneration), LLaVA-NeXT (LlavaNextForConditionalGeneration) and
// LLaVA-OneVision (LlavaOnevisionForConditionalGeneration): name patterns, capabilities and factory.
FamilySpec llava_family();
FamilySpec llava_next_family();
FamilySpec llava_onevision_family();

}  // namespace ps
