// Seeded random streams for training: one generator per (seed, purpose, counter), so a run resumed
// at any step draws the same numbers as the uninterrupted run (data order, augmentation, dropout).
#pragma once
#include <cstdint>

#include <ATen/ATen.h>

namespace ps {

at::Generator rng_stream(uint64_t seed, uint64_t purpose, uint64_t counter);

}  // namespace ps
