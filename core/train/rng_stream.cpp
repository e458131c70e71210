#include "core/train/rng_stream.h"

#include <ATen/CPUGeneratorImpl.h>

namespace ps {

at::Generator rng_stream(uint64_t seed, uint64_t purpose, uint64_t counter) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (purpose * 0x100000001ull + counter + 1);  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return at::detail::createCPUGenerator(z ^ (z >> 31));
}

}  // namespace ps
