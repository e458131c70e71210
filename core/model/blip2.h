// BLIP-2 (Blip2ForConditionalGeneration with an OPT language model): a ViT with fused qkv (q and v
// biases) and a [CLS] token, whose last hidden state after post_layernorm is read by the Q-Former —
// num_query_tokens learned queries through BERT-style layers (self-attention, cross-attention to
// the image every cross_attention_frequency layers, the queries' own MLP, post-norms) — projected
// by language_projection onto the image tokens of an OPT decoder (core/model/opt.h). Three towers:
// vision, the Q-Former (its Linears allocated as the projector modality), language. The prompt is
// BLIP-2's: the image's query tokens, then BOS and the text, as Blip2Processor writes it.
#pragma once
#include "core/model/family.h"

namespace ps {

// BLIP-2: name patterns, capabilities and factory.
FamilySpec blip2_family();

}  // namespace ps
