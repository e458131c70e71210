// Calibration batches on a GPU, sized to its free memory: the pipeline runs every batch through a
// block at a time, and one prompt per batch leaves a GPU mostly idle, so consecutive batches of
// the same length are joined into as many rows as the free memory holds for a block's
// temporaries. On the CPU (batches already run side by side, one per thread) nothing changes.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/model/vlm.h"

namespace ps {

// Free memory of a CUDA device as the runtime reports it (core/runtime.h: the current device's);
// nullopt for the CPU or when it cannot be asked.
std::optional<int64_t> free_device_memory(at::Device device);

// An upper bound of the temporaries one row of `tokens` tokens needs in the widest block of
// `model` (element size of its dtype): its hidden state and residual copies, the widest Linear's
// output three times (an MLP's gate, up and their product), and one head's eager attention scores.
int64_t block_bytes_per_row(const Vlm& model, int64_t tokens);

// Rows per batch: half of `free_bytes` over `bytes_per_row`, at least 1, at most `most`.
int64_t rows_per_batch(int64_t free_bytes, int64_t bytes_per_row, int64_t most);

// Consecutive batches joined up to `rows` rows each, where they can be: the same token count, the
// same inputs given, images of the same shape. Row order is kept; a batch that cannot join starts a
// new one.
std::vector<VlmInputs> join_batches(const std::vector<VlmInputs>& batches, int64_t rows);

// The calibration batches for `model`'s device: joined to what its free memory holds on CUDA, as
// they are elsewhere.
std::vector<VlmInputs> size_for_device(const Vlm& model, std::vector<VlmInputs> batches);

}  // namespace ps
