// A randomly initialised LLaVA-1.5 checkpoint (CLIP vision tower, 2-layer projector, LLaMA decoder
// with GQA) in the Hugging Face layout: by default a small one, for first runs and tests of the
// tool itself; with larger sizes, checkpoints bigger than memory for the streaming checks.
#pragma once
#include <cstdint>
#include <string>

#include "core/job_control.h"

namespace ps {

// The sizes; the defaults are the small demo's.
struct DemoDims {
    int v_hidden = 64, v_inter = 256, v_layers = 4, v_heads = 4, image = 64, patch = 16;
    int t_hidden = 128, t_inter = 344, t_layers = 6, t_heads = 4, t_kv_heads = 2, vocab = 1024;
};

// Writes config.json and the float32 weights into `dir` (which must not exist), atomically: one
// model.safetensors, or shards of at most `shard_bytes` (a tensor larger than that gets a shard of
// its own) with model.safetensors.index.json. Tensors are drawn from `seed` one at a time, in a
// fixed order, and written as they are drawn, so the checkpoint may exceed memory. `job` reports
// the bytes written (stage "demo") and can cancel, which leaves nothing.
void write_demo_checkpoint(const std::string& dir, uint64_t seed = 0, const DemoDims& dims = {},
                           uint64_t shard_bytes = uint64_t(4) << 30, const JobControl& job = {});

}  // namespace ps
