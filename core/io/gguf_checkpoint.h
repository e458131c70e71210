// A GGUF language model seen as the Hugging Face checkpoint transformers makes of it
// (from_pretrained(..., gguf_file=...)): config.json from the metadata, tensors renamed to
// LlamaForCausalLM's, llama.cpp's Q/K row permutation undone, every tensor dequantised to float32.
#pragma once
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/io/gguf.h"
#include "core/io/safetensors.h"

namespace ps {

struct GgufCheckpoint {
    nlohmann::json config;
    std::shared_ptr<const SafetensorsFile> tensors;  // in memory, float32, Hugging Face names
};

// Throws ps::Error naming the file for an architecture other than llama, a missing metadata key,
// a tensor name outside the architecture's or a tensor type that cannot be dequantised (before
// anything is allocated).
GgufCheckpoint gguf_checkpoint(const GgufFile& file);
// config.json alone (LlamaConfig's fields from the llama.* metadata); the same errors.
nlohmann::json gguf_checkpoint_config(const GgufFile& file);

// Beside the tensors of a checkpoint folder written from the file (a pruned copy): config.json and
// the tokenizer files transformers reads as the file's tokenizer (tokenizer.json,
// tokenizer_config.json with the chat template, special_tokens_map.json), but those in `skip`.
void write_gguf_side_files(const GgufFile& file, const std::string& dir, const std::set<std::string>& skip = {});

// The Hugging Face name of a llama GGUF tensor ("blk.3.attn_q.weight" → "model.layers.3.self_attn.
// q_proj.weight"); "" for a name outside the architecture.
std::string gguf_llama_hf_name(const std::string& gguf_name);

}  // namespace ps
