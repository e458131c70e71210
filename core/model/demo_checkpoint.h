// A small randomly initialised LLaVA-1.5 checkpoint (CLIP vision tower, 2-layer projector, LLaMA
// decoder with GQA) in the Hugging Face layout, for first runs and tests of the tool itself.
#pragma once
#include <cstdint>
#include <string>

namespace ps {

// Writes config.json + model.safetensors into `dir` (which must not exist), atomically.
void write_demo_checkpoint(const std::string& dir, uint64_t seed = 0);

}  // namespace ps
