#include "core/io/safetensors.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/file_map.h"
#include "core/io/json_util.h"

namespace ps {
namespace {

constexpr uint64_t kMaxHeader = 100ull * 1024 * 1024;

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& path, const std::string& name) {
    if (a != 0 && b > UINT64_MAX / a) throw Error(path, "tensor '" + name + "': shape overflows");
    return a * b;
}

TensorInfo parse_entry(const std::string& name, const nlohmann::json& v, const std::string& path) {
    auto bad = [&](const std::string& what) { return Error(path, "tensor '" + name + "': " + what); };
    if (!v.is_object()) throw bad("entry is not an object");
    TensorInfo t;
    t.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) throw bad("missing \"dtype\"");
    auto parsed = dtype_from_string(dt->get<std::string>());
    if (!parsed) throw bad("unknown dtype \"" + dt->get<std::string>() + "\"");
    t.dtype = *parsed;
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) throw bad("missing \"shape\"");
    for (const auto& d : *sh) {
        if (!d.is_number_unsigned()) throw bad("shape entries must be non-negative integers");
        uint64_t dim = d.get<uint64_t>();
        if (dim > static_cast<uint64_t>(INT64_MAX)) throw bad("shape entry too large");
        t.shape.push_back(static_cast<int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
        throw bad("\"data_offsets\" must be two non-negative integers");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.end < t.begin) throw bad("data_offsets end before begin");
    uint64_t expect = dtype_size(t.dtype);
    for (int64_t d : t.shape) expect = checked_mul(expect, static_cast<uint64_t>(d), path, name);
    if (expect != t.end - t.begin)
        throw bad("byte range is " + std::to_string(t.end - t.begin) + " bytes but shape x dtype needs " +
                  std::to_string(expect));
    return t;
}

}  // namespace

uint64_t TensorInfo::numel() const {
    return std::accumulate(shape.begin(), shape.end(), uint64_t{1},
                           [](uint64_t a, int64_t d) { return a * static_cast<uint64_t>(d); });
}

SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& path) {
    if (size < 8)
        throw Error(path, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    const uint64_t n = read_u64_le(bytes);
    if (n > kMaxHeader) throw Error(path, "header length " + std::to_string(n) + " exceeds the 100 MB limit");
    if (n > size - 8)
        throw Error(path, "truncated: header length " + std::to_string(n) + " exceeds the " +
                              std::to_string(size - 8) + " bytes after the length field");
    const char* text = reinterpret_cast<const char*>(bytes + 8);

    std::set<std::string> seen;
    std::string duplicate;
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(
            text, text + n,
            [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
                if (depth == 1 && ev == nlohmann::json::parse_event_t::key && duplicate.empty()) {
                    const std::string& k = parsed.get_ref<const std::string&>();
                    if (!seen.insert(k).second) duplicate = k;
                }
                return true;
            });
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, "header is not valid JSON (" + json_error_text(e) + ")");
    }
    if (!duplicate.empty()) throw Error(path, "duplicate tensor name '" + duplicate + "' in header");
    if (!header.is_object()) throw Error(path, "header is not a JSON object");

    SafetensorsHeader h;
    h.data_offset = 8 + n;
    const uint64_t data_size = size - h.data_offset;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) throw Error(path, "\"__metadata__\" is not an object");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string()) throw Error(path, "\"__metadata__\" value of '" + m.key() + "' is not a string");
                h.metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        TensorInfo t = parse_entry(it.key(), *it, path);
        if (t.end > data_size)
            throw Error(path, "tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) + ", " +
                                  std::to_string(t.end) + ") outside the " + std::to_string(data_size) +
                                  "-byte data buffer (file truncated?)");
        h.tensors.push_back(std::move(t));
    }
    std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (size_t i = 1; i < h.tensors.size(); ++i) {
        const TensorInfo& a = h.tensors[i - 1];
        const TensorInfo& b = h.tensors[i];
        if (b.begin < a.end)
            throw Error(path, "tensors '" + a.name + "' and '" + b.name + "' overlap in the data buffer");
    }
    return h;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;
    f->base_ = map_file(path, f->size_);
    f->header_ = parse_safetensors(f->base_, f->size_, path);
    for (size_t i = 0; i < f->header_.tensors.size(); ++i) f->index_[f->header_.tensors[i].name] = i;
    return f;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::in_memory(const std::string& path, SafetensorsHeader header,
                                                                  std::vector<uint8_t> data) {
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;
    f->in_memory_ = true;
    f->memory_ = std::move(data);
    f->base_ = f->memory_.data();
    f->size_ = f->memory_.size();
    f->header_ = std::move(header);
    for (size_t i = 0; i < f->header_.tensors.size(); ++i) f->index_[f->header_.tensors[i].name] = i;
    return f;
}

SafetensorsFile::~SafetensorsFile() {
    if (base_ && !in_memory_) ::munmap(base_, size_);
}

void SafetensorsFile::release(const TensorInfo& t) const {
    if (in_memory_) return;
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data(t)) + page - 1) / page * page;
    const uintptr_t end = reinterpret_cast<uintptr_t>(data(t)) + t.nbytes();
    if (end > begin + page) ::madvise(reinterpret_cast<void*>(begin), (end - begin) / page * page, MADV_DONTNEED);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

SafetensorsLayout layout_safetensors(const std::string& path, const std::vector<TensorInfo>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
    SafetensorsLayout out;
    std::set<std::string> names;
    for (const TensorInfo& t : tensors) {
        if (!names.insert(t.name).second) throw Error(path, "duplicate tensor name '" + t.name + "'");
        uint64_t bytes = dtype_size(t.dtype);
        for (int64_t d : t.shape) {
            if (d < 0) throw Error(path, "tensor '" + t.name + "': negative dimension");
            bytes = checked_mul(bytes, static_cast<uint64_t>(d), path, t.name);
        }
        out.tensors.push_back(t);
        out.tensors.back().end = bytes;  // its size, until the offsets are assigned below
    }
    std::stable_sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        size_t sa = dtype_size(a.dtype), sb = dtype_size(b.dtype);
        return sa != sb ? sa > sb : a.name < b.name;
    });

    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (TensorInfo& t : out.tensors) {
        const uint64_t bytes = t.end;
        if (bytes > UINT64_MAX - offset) throw Error(path, "tensor '" + t.name + "': file size overflows");
        t.begin = offset;
        t.end = offset + bytes;
        offset = t.end;
        header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned
    out.prefix.resize(8);
    for (int i = 0; i < 8; ++i) out.prefix[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    out.prefix += text;
    out.file_size = out.prefix.size() + offset;
    return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorBytes>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<TensorInfo> infos;
    std::map<std::string, const TensorBytes*> by_name;
    for (const TensorBytes& t : tensors) {
        TensorInfo info;
        info.name = t.name;
        info.dtype = t.dtype;
        info.shape = t.shape;
        infos.push_back(std::move(info));
        by_name.emplace(t.name, &t);
    }
    const SafetensorsLayout layout = layout_safetensors(path, infos, metadata);
    for (const TensorInfo& t : layout.tensors)
        if (by_name.at(t.name)->nbytes != t.nbytes())
            throw Error(path, "tensor '" + t.name + "': " + std::to_string(by_name.at(t.name)->nbytes) +
                                  " bytes given, shape needs " + std::to_string(t.nbytes()));

    AtomicFile out(path);
    out.write(layout.prefix.data(), layout.prefix.size());
    for (const TensorInfo& t : layout.tensors)
        if (t.nbytes()) out.write(by_name.at(t.name)->data, t.nbytes());
    out.commit();
}

}  // namespace ps
