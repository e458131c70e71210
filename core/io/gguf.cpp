#include "core/io/gguf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

#include "core/ends_with.h"
#include "core/error.h"
#include "core/io/file_map.h"

namespace ps {

bool is_gguf_path(const std::string& path) {
    struct stat st {};
    return path.size() > 5 && ends_with(path, ".gguf") && ::stat(path.c_str(), &st) == 0 &&
           S_ISREG(st.st_mode);
}

namespace {

struct TypeTraits {
    GgmlType type;
    const char* name;
    uint32_t block;  // elements per block
    uint32_t bytes;  // bytes per block
};

constexpr TypeTraits kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},      {GgmlType::F16, "F16", 1, 2},       {GgmlType::Q4_0, "Q4_0", 32, 18},
    {GgmlType::Q4_1, "Q4_1", 32, 20},  {GgmlType::Q5_0, "Q5_0", 32, 22},   {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},  {GgmlType::Q8_1, "Q8_1", 32, 36},   {GgmlType::Q2_K, "Q2_K", 256, 84},
    {GgmlType::Q3_K, "Q3_K", 256, 110}, {GgmlType::Q4_K, "Q4_K", 256, 144}, {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210}, {GgmlType::Q8_K, "Q8_K", 256, 292}, {GgmlType::I8, "I8", 1, 1},
    {GgmlType::I16, "I16", 1, 2},      {GgmlType::I32, "I32", 1, 4},       {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},      {GgmlType::BF16, "BF16", 1, 2},
};

const TypeTraits* traits(uint32_t type) {
    for (const TypeTraits& t : kTypes)
        if (static_cast<uint32_t>(t.type) == type) return &t;
    return nullptr;
}

constexpr int kMaxDims = 4;                   // GGML_MAX_DIMS
constexpr size_t kMaxName = 63;               // GGML_MAX_NAME less its terminator
constexpr int kMaxArrayDepth = 8;             // arrays of arrays
constexpr uint64_t kMaxArrayItems = 1u << 24; // per array: a vocabulary or merge list is ~10^5

// Metadata value types.
enum : uint32_t { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 };

// Bounds-checked little-endian reads over the file image.
class Cursor {
public:
    Cursor(const uint8_t* p, size_t size, const std::string& path) : p_(p), size_(size), path_(path) {}

    uint64_t pos() const { return pos_; }
    uint64_t left() const { return size_ - pos_; }
    [[noreturn]] void fail(const std::string& what) const { throw Error(path_, what); }

    const uint8_t* take(uint64_t n, const char* what) {
        if (n > left())
            fail("truncated: " + std::string(what) + " at byte " + std::to_string(pos_) + " needs " + std::to_string(n) +
                 " bytes, " + std::to_string(left()) + " left");
        const uint8_t* at = p_ + pos_;
        pos_ += n;
        return at;
    }
    template <typename T>
    T read(const char* what) {
        T v;
        std::memcpy(&v, take(sizeof(T), what), sizeof(T));  // GGUF and our hosts are little-endian
        return v;
    }
    std::string string(const char* what) {
        const uint64_t n = read<uint64_t>(what);
        const uint8_t* s = take(n, what);
        return std::string(reinterpret_cast<const char*>(s), n);
    }
    // A string that must be valid UTF-8 (metadata keys and values, tensor names), as JSON holds it.
    std::string utf8(const char* what, const std::string& key = {}) {
        const uint64_t at = pos_;
        std::string s = string(what);
        try {
            (void)nlohmann::json(s).dump();
        } catch (const nlohmann::json::exception&) {
            fail(std::string(what) + (key.empty() ? "" : " of '" + key + "'") + " at byte " + std::to_string(at) +
                 " is not valid UTF-8");
        }
        return s;
    }

private:
    const uint8_t* p_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& path_;
};

// The fewest bytes a value of `type` takes (for rejecting counts the file cannot hold).
uint64_t min_value_bytes(uint32_t type) {
    switch (type) {
        case U8: case I8: case BOOL: return 1;
        case U16: case I16: return 2;
        case U32: case I32: case F32: return 4;
        case U64: case I64: case F64: case STRING: return 8;
        case ARRAY: return 12;
        default: return 0;
    }
}

nlohmann::json read_value(Cursor& c, uint32_t type, const std::string& key, int depth) {
    switch (type) {
        case U8: return c.read<uint8_t>("value");
        case I8: return c.read<int8_t>("value");
        case U16: return c.read<uint16_t>("value");
        case I16: return c.read<int16_t>("value");
        case U32: return c.read<uint32_t>("value");
        case I32: return c.read<int32_t>("value");
        case U64: return c.read<uint64_t>("value");
        case I64: return c.read<int64_t>("value");
        case F32: return c.read<float>("value");
        case F64: return c.read<double>("value");
        case BOOL: {
            const uint8_t b = c.read<uint8_t>("value");
            if (b > 1) c.fail("metadata '" + key + "': boolean value " + std::to_string(b) + " is neither 0 nor 1");
            return b == 1;
        }
        case STRING: return c.utf8("string value", key);
        case ARRAY: {
            if (depth >= kMaxArrayDepth) c.fail("metadata '" + key + "': arrays nested deeper than 8");
            const uint32_t item = c.read<uint32_t>("array item type");
            const uint64_t n = c.read<uint64_t>("array length");
            const uint64_t min = min_value_bytes(item);
            if (min == 0) c.fail("metadata '" + key + "': unknown array item type " + std::to_string(item));
            if (n > c.left() / min)
                c.fail("metadata '" + key + "': array of " + std::to_string(n) + " items cannot fit in the " +
                       std::to_string(c.left()) + " bytes left");
            if (n > kMaxArrayItems)
                c.fail("metadata '" + key + "': array of " + std::to_string(n) + " items (more than 16777216 are refused)");
            nlohmann::json a = nlohmann::json::array();
            a.get_ref<nlohmann::json::array_t&>().reserve(n);
            for (uint64_t i = 0; i < n; ++i) a.push_back(read_value(c, item, key, depth + 1));
            return a;
        }
        default: c.fail("metadata '" + key + "': unknown value type " + std::to_string(type));
    }
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000 | (mant << 13);  // inf, nan
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {  // subnormal: normalise
        exp = 113;
        while (!(mant & 0x400)) {
            mant <<= 1;
            --exp;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t u16_at(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

std::string ggml_type_name(uint32_t type) {
    const TypeTraits* t = traits(type);
    return t ? t->name : "type " + std::to_string(type);
}

bool ggml_type_supported(uint32_t type) {
    switch (static_cast<GgmlType>(type)) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
        case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1: return true;
        default: return false;
    }
}

uint64_t GgufTensorInfo::numel() const {
    return std::accumulate(shape.begin(), shape.end(), uint64_t{1},
                           [](uint64_t a, int64_t d) { return a * static_cast<uint64_t>(d); });
}

GgufHeader parse_gguf(const uint8_t* bytes, size_t size, const std::string& path) {
    Cursor c(bytes, size, path);
    if (size < 4 || std::memcmp(bytes, "GGUF", 4) != 0) c.fail("not a GGUF file (no \"GGUF\" magic)");
    c.take(4, "magic");
    GgufHeader h;
    h.version = c.read<uint32_t>("version");
    if (h.version != 2 && h.version != 3)
        c.fail("GGUF version " + std::to_string(h.version) + " is not supported (2 and 3 are)");
    const uint64_t tensor_count = c.read<uint64_t>("tensor count");
    const uint64_t kv_count = c.read<uint64_t>("metadata count");
    if (kv_count > c.left() / 13)
        c.fail(std::to_string(kv_count) + " metadata entries cannot fit in a file of " + std::to_string(size) + " bytes");
    for (uint64_t i = 0; i < kv_count; ++i) {
        const std::string key = c.utf8("metadata key");
        if (h.metadata.contains(key)) c.fail("metadata key '" + key + "' appears twice");
        const uint32_t type = c.read<uint32_t>("metadata value type");
        h.metadata[key] = read_value(c, type, key, 0);
    }
    if (tensor_count > c.left() / 24)
        c.fail(std::to_string(tensor_count) + " tensors cannot fit in a file of " + std::to_string(size) + " bytes");

    if (auto a = h.metadata.find("general.alignment"); a != h.metadata.end()) {
        if (!a->is_number_integer() || a->get<int64_t>() <= 0 || (a->get<uint64_t>() & (a->get<uint64_t>() - 1)))
            c.fail("general.alignment must be a positive power of two, not " + a->dump());
        h.alignment = a->get<uint64_t>();
    }

    std::set<std::string> names;
    for (uint64_t i = 0; i < tensor_count; ++i) {
        GgufTensorInfo t;
        t.name = c.utf8("tensor name");
        if (t.name.size() > kMaxName) c.fail("tensor name of " + std::to_string(t.name.size()) + " bytes (at most 63)");
        auto bad = [&](const std::string& what) { c.fail("tensor '" + t.name + "': " + what); };
        if (!names.insert(t.name).second) bad("appears twice");
        const uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
        if (n_dims < 1 || n_dims > kMaxDims) bad(std::to_string(n_dims) + " dimensions (1 to 4 are allowed)");
        std::vector<uint64_t> dims(n_dims);
        for (auto& d : dims) d = c.read<uint64_t>("tensor dimension");
        t.type = c.read<uint32_t>("tensor type");
        t.offset = c.read<uint64_t>("tensor offset");
        const TypeTraits* tt = traits(t.type);
        if (!tt) bad("unknown tensor type " + std::to_string(t.type));
        uint64_t numel = 1;
        for (uint64_t d : dims) {
            if (d > static_cast<uint64_t>(INT64_MAX) || (d != 0 && numel > UINT64_MAX / d)) bad("shape overflows");
            numel *= d;
        }
        if (dims[0] % tt->block != 0)
            bad("rows of " + std::to_string(dims[0]) + " elements are not whole " + tt->name + " blocks of " +
                std::to_string(tt->block));
        if (numel / tt->block > UINT64_MAX / tt->bytes) bad("shape overflows");
        t.nbytes = numel / tt->block * tt->bytes;
        if (t.offset % h.alignment != 0)
            bad("offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(h.alignment));
        for (auto it = dims.rbegin(); it != dims.rend(); ++it) t.shape.push_back(static_cast<int64_t>(*it));
        h.tensors.push_back(std::move(t));
    }

    h.data_offset = (c.pos() + h.alignment - 1) / h.alignment * h.alignment;
    if (h.data_offset > size && !h.tensors.empty())
        c.fail("truncated: the data section would start at byte " + std::to_string(h.data_offset) + " of " +
               std::to_string(size));
    const uint64_t data_size = h.data_offset <= size ? size - h.data_offset : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& t : h.tensors) {
        if (t.offset > data_size || t.nbytes > data_size - t.offset)
            c.fail("tensor '" + t.name + "': " + std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) +
                   " of the data section lie outside the file (" + std::to_string(data_size) +
                   " data bytes; truncated?)");
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->nbytes)
            c.fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap in the data section");
    return h;
}

void dequantize(uint32_t type, const uint8_t* src, float* dst, uint64_t numel, const std::string& where) {
    switch (static_cast<GgmlType>(type)) {
        case GgmlType::F32:
            if (numel) std::memcpy(dst, src, numel * 4);
            return;
        case GgmlType::F16:
            for (uint64_t i = 0; i < numel; ++i) dst[i] = half_to_float(u16_at(src + 2 * i));
            return;
        case GgmlType::BF16:
            for (uint64_t i = 0; i < numel; ++i) {
                const uint32_t bits = static_cast<uint32_t>(u16_at(src + 2 * i)) << 16;
                std::memcpy(dst + i, &bits, 4);
            }
            return;
        case GgmlType::Q8_0:  // f16 d, i8 q[32]: w = d * q
            for (uint64_t b = 0; b < numel / 32; ++b, src += 34, dst += 32) {
                const float d = half_to_float(u16_at(src));
                for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(static_cast<int8_t>(src[2 + i]));
            }
            return;
        case GgmlType::Q4_0:  // f16 d, u8 qs[16]: w = d * (q - 8); low nibbles first, then high
            for (uint64_t b = 0; b < numel / 32; ++b, src += 18, dst += 32) {
                const float d = half_to_float(u16_at(src));
                for (int i = 0; i < 16; ++i) {
                    dst[i] = d * static_cast<float>((src[2 + i] & 0x0f) - 8);
                    dst[16 + i] = d * static_cast<float>((src[2 + i] >> 4) - 8);
                }
            }
            return;
        case GgmlType::Q4_1:  // f16 d, f16 m, u8 qs[16]: w = d * q + m
            for (uint64_t b = 0; b < numel / 32; ++b, src += 20, dst += 32) {
                const float d = half_to_float(u16_at(src)), m = half_to_float(u16_at(src + 2));
                for (int i = 0; i < 16; ++i) {
                    dst[i] = d * static_cast<float>(src[4 + i] & 0x0f) + m;
                    dst[16 + i] = d * static_cast<float>(src[4 + i] >> 4) + m;
                }
            }
            return;
        default:
            throw Error(where, "tensor type " + ggml_type_name(type) +
                                   " is not supported (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 are)");
    }
}

std::shared_ptr<const GgufFile> GgufFile::open(const std::string& path) {
    std::shared_ptr<GgufFile> f(new GgufFile());
    f->path_ = path;
    f->base_ = map_file(path, f->size_);
    f->header_ = parse_gguf(f->base_, f->size_, path);
    return f;
}

GgufFile::~GgufFile() {
    if (base_) ::munmap(base_, size_);
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
    for (const auto& t : header_.tensors)
        if (t.name == name) return &t;
    return nullptr;
}

std::vector<float> GgufFile::dequantized(const GgufTensorInfo& t) const {
    std::vector<float> out(t.numel());
    dequantize(t.type, data(t), out.data(), out.size(), path_ + ": tensor '" + t.name + "'");
    return out;
}

}  // namespace ps
