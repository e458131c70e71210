// A resumable training state in one safetensors file: the trained tensors ("param.<name>"), the
// AdamW moments and the step, with the run's identity (seed, batch size, schedule length, ...) in
// its metadata so that a state is only ever resumed by the run that wrote it.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/train/adamw.h"

namespace ps {

using RunIdentity = std::map<std::string, std::string>;

// Writes atomically.
void save_training_state(const std::string& path, const AdamW& adam, int64_t step, const RunIdentity& identity);
// Copies the state's tensors into adam's parameters and moments and returns its step. Throws
// ps::Error naming the file for a state of another run or a missing or misshapen tensor.
int64_t restore_training_state(const std::string& path, AdamW& adam, const RunIdentity& identity);

}  // namespace ps
