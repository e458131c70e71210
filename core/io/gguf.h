// GGUF files (llama.cpp's format, versions 2 and 3) without torch: the header, every metadata
// value type, tensor infos validated against the file size and alignment (so a bad file fails
// with one line naming it), the data memory-mapped; dequantisation to float32 of F32, F16, BF16,
// Q8_0, Q4_0 and Q4_1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

// ggml tensor types. The ones listed here are known by size; dequantize() converts those that
// ggml_type_supported() names.
enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};
// A regular file named *.gguf: what Checkpoint::open, load_tokenizer and read_chat_template read as one.
bool is_gguf_path(const std::string& path);

// "Q4_1", or "type 99" for a number ggml does not define.
std::string ggml_type_name(uint32_t type);
bool ggml_type_supported(uint32_t type);

struct GgufTensorInfo {
    std::string name;
    uint32_t type = 0;           // GgmlType
    std::vector<int64_t> shape;  // PyTorch order (outermost first): GGUF's dims reversed
    uint64_t offset = 0;         // from the start of the data section
    uint64_t nbytes = 0;
    uint64_t numel() const;
};

struct GgufHeader {
    uint32_t version = 0;
    // Metadata by key: integers, floats, booleans and strings as JSON scalars, arrays as JSON arrays.
    nlohmann::json metadata = nlohmann::json::object();
    std::vector<GgufTensorInfo> tensors;  // in file order of their infos
    uint64_t alignment = 32;
    uint64_t data_offset = 0;  // of the data section in the file
};

// Parses and validates a whole file image; `path` only labels errors. Throws ps::Error: bad magic,
// an unsupported version, truncation, counts that cannot fit the file, an unknown value or tensor
// type, a tensor whose bytes are misaligned, outside the file or overlapping another.
GgufHeader parse_gguf(const uint8_t* bytes, size_t size, const std::string& path);

// Converts `numel` elements of a tensor of `type` to float32 (numel a multiple of the type's block
// of 32 for the quantised types). Throws ps::Error naming `where` for an unsupported type.
void dequantize(uint32_t type, const uint8_t* src, float* dst, uint64_t numel, const std::string& where);

// A read-only memory map of one .gguf file.
class GgufFile {
public:
    static std::shared_ptr<const GgufFile> open(const std::string& path);
    ~GgufFile();
    GgufFile(const GgufFile&) = delete;
    GgufFile& operator=(const GgufFile&) = delete;

    const std::string& path() const { return path_; }
    uint64_t file_size() const { return size_; }
    const GgufHeader& header() const { return header_; }
    const nlohmann::json& metadata() const { return header_.metadata; }
    const GgufTensorInfo* find(const std::string& name) const;
    const uint8_t* data(const GgufTensorInfo& t) const { return base_ + header_.data_offset + t.offset; }
    // The tensor as float32, row-major in `shape` order.
    std::vector<float> dequantized(const GgufTensorInfo& t) const;

private:
    GgufFile() = default;
    std::string path_;
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    GgufHeader header_;
};

}  // namespace ps
