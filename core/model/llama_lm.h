// A LLaMA-architecture language model on its own (LlamaForCausalLM: SmolLM2, TinyLlama, ...), from
// a checkpoint folder or a GGUF file: one language tower, logits and greedy generation.
#pragma once
#include "core/model/family.h"

namespace ps {

FamilySpec llama_lm_family();

}  // namespace ps
