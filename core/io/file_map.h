// A whole file memory-mapped privately (copy-on-write: writes never reach the file), as the
// safetensors and GGUF readers hold theirs.
#pragma once
#include <cstdint>
#include <string>

namespace ps {

// The mapping of a regular file and its size in `size`; nullptr for an empty file. Release it with
// munmap(base, size). Throws ps::Error naming the file when it cannot be opened or mapped.
uint8_t* map_file(const std::string& path, uint64_t& size);

}  // namespace ps
