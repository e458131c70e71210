// The largest transformer block of a checkpoint (every tensor under "<...>.layers.N."): its name
// and bytes, the unit a streamed run holds resident, which the memory figures are measured against.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "core/io/checkpoint.h"

namespace ps {

std::pair<std::string, uint64_t> largest_block(const Checkpoint& ckpt);

}  // namespace ps
