// Reader for IDX files, the format of MNIST and Fashion-MNIST: 2 zero bytes, a type byte, a
// dimension count, big-endian uint32 sizes, then the data. Files ending in ".gz" are inflated.
#pragma once
#include <string>

#include <ATen/ATen.h>

namespace ps {

// The file's data as a uint8 tensor of its dimensions, owning its memory. Only type 0x08
// (unsigned byte) is read. Throws ps::Error("<path>: ...") for a missing file, corrupt or truncated
// gzip data, a bad magic number, another type, or data whose size differs from the product of the
// dimensions; the header's sizes are checked against the data before anything is allocated.
at::Tensor read_idx(const std::string& path);

}  // namespace ps
