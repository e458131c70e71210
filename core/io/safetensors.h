// safetensors reading and writing without torch: the header is parsed and validated against the
// file size (so a bad file fails with one line naming it), the payload is mmapped and never copied.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/dtype.h"

namespace ps {

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte range inside the data buffer, end one past the last byte
    uint64_t end = 0;
    uint64_t numel() const;
    uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
    std::vector<TensorInfo> tensors;  // in file order of their data
    std::map<std::string, std::string> metadata;
    uint64_t data_offset = 0;  // 8 + header length
};

// Parses and validates a whole file image; `path` only labels errors. Throws ps::Error.
SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& path);

// A read-only memory map of one .safetensors file (private mapping: writes never reach the file).
class SafetensorsFile {
public:
    static std::shared_ptr<const SafetensorsFile> open(const std::string& path);
    // Tensors made in memory (a dequantised GGUF file): `header` describes `data` (data_offset 0);
    // `path` labels errors. release() keeps such pages.
    static std::shared_ptr<const SafetensorsFile> in_memory(const std::string& path, SafetensorsHeader header,
                                                            std::vector<uint8_t> data);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    uint64_t file_size() const { return size_; }
    const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
    const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
    const TensorInfo* find(const std::string& name) const;
    // Start of a tensor's bytes inside the mapping; valid while this object lives.
    uint8_t* data(const TensorInfo& t) const { return base_ + header_.data_offset + t.begin; }
    // Drops this process's mapped pages of a tensor (they stay in the page cache); the next read
    // faults them back in. Keeps RSS bounded when streaming a model block by block.
    void release(const TensorInfo& t) const;

private:
    SafetensorsFile() = default;
    std::string path_;
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    SafetensorsHeader header_;
    std::map<std::string, size_t> index_;
    bool in_memory_ = false;
    std::vector<uint8_t> memory_;  // in_memory()'s bytes; base_ points into it
};

// One tensor to write: raw little-endian row-major bytes.
struct TensorBytes {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    uint64_t nbytes = 0;
};

// Where a file's tensors go: by descending element size (then name) so every tensor stays aligned,
// as the reference writer lays them out, after a header padded to keep the data buffer 8-byte
// aligned. write_safetensors and SafetensorsWriter (core/io/safetensors_writer.h) share it.
struct SafetensorsLayout {
    std::string prefix;               // the 8-byte header length and the header, padded
    std::vector<TensorInfo> tensors;  // in file order, with their byte ranges in the data buffer
    uint64_t file_size = 0;
};
// `tensors` give name, dtype and shape (their byte ranges are ignored). Throws ps::Error naming
// `path` for a duplicate name, a negative dimension or a size that overflows.
SafetensorsLayout layout_safetensors(const std::string& path, const std::vector<TensorInfo>& tensors,
                                     const std::map<std::string, std::string>& metadata = {});

// Writes atomically (temp file in the same folder, fsync, rename), laid out as above.
void write_safetensors(const std::string& path, const std::vector<TensorBytes>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace ps
