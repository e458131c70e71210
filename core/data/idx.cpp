#include "core/data/idx.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <vector>

#include <zlib.h>

#include "core/ends_with.h"
#include "core/error.h"

namespace ps {
namespace {

constexpr uint8_t kTypeUint8 = 0x08;
constexpr size_t kChunk = size_t{1} << 16;

std::string hex_bytes(const uint8_t* b, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", b[i]);
        out += buf;
    }
    return out;
}

// The bytes of an IDX file in order: the file itself, or its gzip-inflated content.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Fills `dst` with up to `n` bytes; fewer only at the end of the data.
    virtual size_t read(uint8_t* dst, size_t n) = 0;
    // How many bytes are left, or -1 when that is not known without reading them.
    virtual int64_t remaining() { return -1; }
};

class FileSource : public ByteSource {
public:
    FileSource(std::ifstream& in, const std::string& path) : in_(in), path_(path) {}
    size_t read(uint8_t* dst, size_t n) override {
        in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
        if (in_.bad()) throw Error(path_, "read failed");
        return static_cast<size_t>(in_.gcount());
    }
    int64_t remaining() override {
        const std::streampos here = in_.tellg();
        if (here < 0 || !in_.seekg(0, std::ios::end)) return -1;
        const std::streampos end = in_.tellg();
        in_.seekg(here);
        return end < here || !in_ ? -1 : static_cast<int64_t>(end - here);
    }

private:
    std::ifstream& in_;
    const std::string& path_;
};

// Inflates gzip data as zlib's gzread does: the CRC and length of every member are checked,
// concatenated members are read in turn and zero padding after the last one is skipped.
class GzipSource : public ByteSource {
public:
    GzipSource(std::ifstream& in, const std::string& path) : in_(in), path_(path), buf_(kChunk) {
        std::memset(&z_, 0, sizeof z_);
        if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw Error(path_, "cannot start gzip inflation");
    }
    ~GzipSource() override { inflateEnd(&z_); }
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;

    size_t read(uint8_t* dst, size_t n) override {
        size_t done = 0;
        while (done < n && !finished_) {
            if (z_.avail_in == 0 && !refill()) {
                if (in_member_) throw Error(path_, "truncated gzip data (the file ends inside the compressed stream)");
                finished_ = true;
                break;
            }
            if (!in_member_) {  // between members: skip zero padding, anything else starts a member
                while (z_.avail_in > 0 && *z_.next_in == 0) {
                    ++z_.next_in;
                    --z_.avail_in;
                }
                if (z_.avail_in == 0) continue;
                in_member_ = true;
            }
            const uInt want = static_cast<uInt>(std::min<size_t>(n - done, size_t{1} << 30));
            z_.next_out = dst + done;
            z_.avail_out = want;
            const int rc = inflate(&z_, Z_NO_FLUSH);
            done += want - z_.avail_out;
            if (rc == Z_STREAM_END) {
                in_member_ = false;
                inflateReset(&z_);
            } else if (rc == Z_MEM_ERROR) {
                throw Error(path_, "out of memory inflating gzip data");
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                throw Error(path_, std::string("corrupt gzip data (") + (z_.msg ? z_.msg : "inflate error") + ")");
            }
        }
        return done;
    }

private:
    // Reads the next piece of the compressed file; false at its end.
    bool refill() {
        in_.read(reinterpret_cast<char*>(buf_.data()), static_cast<std::streamsize>(buf_.size()));
        if (in_.bad()) throw Error(path_, "read failed");
        z_.next_in = buf_.data();
        z_.avail_in = static_cast<uInt>(in_.gcount());
        return z_.avail_in > 0;
    }

    std::ifstream& in_;
    const std::string& path_;
    std::vector<uint8_t> buf_;
    z_stream z_;
    bool in_member_ = false;
    bool finished_ = false;
};

Error size_error(const std::string& path, uint64_t expected, uint64_t got, const std::string& shape) {
    return Error(path, "expected " + std::to_string(expected) + " bytes of data for dimensions " + shape + ", got " +
                           std::to_string(got));
}

}  // namespace

at::Tensor read_idx(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error(path, "is a folder, not an IDX file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
    const bool gz = ends_with(path, ".gz");
    std::unique_ptr<ByteSource> src;
    if (gz) {
        src = std::make_unique<GzipSource>(in, path);
    } else {
        src = std::make_unique<FileSource>(in, path);
    }

    // Header: 0 0 type ndim, then ndim big-endian uint32 sizes.
    uint8_t magic[4];
    const size_t got_magic = src->read(magic, 4);
    if (got_magic == 0) throw Error(path, gz ? "no data (empty file or empty gzip stream)" : "empty file");
    if (got_magic < 4) throw Error(path, "truncated header (" + std::to_string(got_magic) + " of 4 magic bytes)");
    if (magic[0] != 0 || magic[1] != 0) {
        std::string what = "not an IDX file (bad magic bytes " + hex_bytes(magic, 4) + ", expected 00 00 08 <ndim>)";
        if (!gz && magic[0] == 0x1f && magic[1] == 0x8b) what += "; this is gzip data, which needs a name ending in .gz";
        throw Error(path, what);
    }
    if (magic[2] != kTypeUint8)
        throw Error(path, "unsupported IDX type byte 0x" + hex_bytes(magic + 2, 1) + " (only 0x08, unsigned byte, is read)");
    const int ndim = magic[3];
    if (ndim == 0) throw Error(path, "IDX header has 0 dimensions");
    std::vector<uint8_t> head(static_cast<size_t>(4) * ndim);
    const size_t got_head = src->read(head.data(), head.size());
    if (got_head < head.size())
        throw Error(path, "truncated header (" + std::to_string(ndim) + " dimension sizes announced, " +
                              std::to_string(got_head) + " of " + std::to_string(head.size()) + " bytes present)");

    std::vector<int64_t> dims;
    std::string shape;
    bool any_zero = false, overflow = false;
    uint64_t expected = 1;
    for (int d = 0; d < ndim; ++d) {
        const uint8_t* p = head.data() + 4 * d;
        const uint32_t v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
        dims.push_back(v);
        if (d < 8) shape += (d ? "x" : "") + std::to_string(v);
        any_zero = any_zero || v == 0;
        overflow = overflow || __builtin_mul_overflow(expected, uint64_t{v}, &expected);
    }
    if (ndim > 8) shape += "x... (" + std::to_string(ndim) + " in all)";
    if (any_zero) {
        expected = 0;
    } else if (overflow || expected > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw Error(path, "dimensions " + shape + " describe more than 2^63 bytes of data");
    }

    // The size is checked against what is there before anything of that size is allocated: a
    // plain file's length is known; gzip data is inflated into a buffer that grows as it arrives.
    const int64_t known = src->remaining();
    if (known >= 0 && static_cast<uint64_t>(known) != expected) throw size_error(path, expected, known, shape);
    auto data = std::make_unique<std::vector<uint8_t>>();
    if (known >= 0) data->reserve(expected);
    while (data->size() < expected) {
        const size_t old = data->size();
        const size_t want = static_cast<size_t>(std::min<uint64_t>(expected - old, std::max(old, size_t{1} << 20)));
        data->resize(old + want);
        const size_t n = src->read(data->data() + old, want);
        if (n < want) {
            data->resize(old + n);
            break;
        }
    }
    if (data->size() < expected) throw size_error(path, expected, data->size(), shape);
    uint64_t extra = 0;
    std::vector<uint8_t> scratch(kChunk);
    while (const size_t n = src->read(scratch.data(), scratch.size())) extra += n;
    if (extra > 0) throw size_error(path, expected, expected + extra, shape);

    if (expected == 0) return at::empty(dims, at::kByte);
    std::vector<uint8_t>* owned = data.get();
    at::Tensor t = at::from_blob(owned->data(), dims, [owned](void*) { delete owned; }, at::TensorOptions(at::kByte));
    data.release();
    return t;
}

}  // namespace ps
