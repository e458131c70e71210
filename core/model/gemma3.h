// Gemma 3 (Gemma3ForConditionalGeneration, model_type "gemma3"): a SigLIP vision tower whose last
// hidden state (after post_layernorm) is average-pooled to mm_tokens_per_image tokens, normed
// (Gemma's RMSNorm, mm_soft_emb_norm) and multiplied by mm_input_projection_weight onto the image
// tokens of the Gemma 3 decoder (core/model/llama.h: Gemma's norms, q/k norms, scaled embeddings,
// local and global rotary, each image's tokens attending to each other both ways in the prompt).
// Each image is one view of the processor's size between <start_of_image> and <end_of_image>, a
// blank line on both sides, as Gemma3Processor writes it (pan-and-scan crops are refused). Loads
// the Hub layout (language_model.model.*) and the module layout (model.language_model.*).
#pragma once
#include "core/model/family.h"

namespace ps {

// Gemma 3: name patterns, capabilities and factory.
FamilySpec gemma3_family();

}  // namespace ps
