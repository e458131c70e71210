#include "core/data/inputs_file.h"

#include <cstring>
#include <tuple>

#include "core/ends_with.h"
#include "core/error.h"

namespace ps {

namespace {

constexpr const char* kTensors = "input_ids, attention_mask, labels, pixel_values, image_grid_thw, image_sizes, image_tiles";

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

template <typename T>
void widen(const uint8_t* bytes, uint64_t n, std::vector<int64_t>& out) {
    for (uint64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, bytes + i * sizeof(T), sizeof(T));
        out[i] = static_cast<int64_t>(v);
    }
}

// An integer tensor's values as int64 (the mapping may be unaligned, so each is copied out);
// empty when its dtype is not an integer one.
std::vector<int64_t> integers(const SafetensorsFile& f, const TensorInfo& t, bool& ok) {
    const uint64_t n = t.numel();
    std::vector<int64_t> out(n);
    const uint8_t* p = f.data(t);
    ok = true;
    switch (t.dtype) {
        case DType::BOOL:
        case DType::U8: widen<uint8_t>(p, n, out); break;
        case DType::I8: widen<int8_t>(p, n, out); break;
        case DType::I16: widen<int16_t>(p, n, out); break;
        case DType::U16: widen<uint16_t>(p, n, out); break;
        case DType::I32: widen<int32_t>(p, n, out); break;
        case DType::U32: widen<uint32_t>(p, n, out); break;
        case DType::I64: widen<int64_t>(p, n, out); break;
        case DType::U64: widen<uint64_t>(p, n, out); break;  // past int64's range reads negative, refused as such
        default: ok = false; out.clear();
    }
    return out;
}

bool floating(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64; }

}  // namespace

bool is_inputs_file(const std::string& data) {
    static const std::string ext = ".safetensors";
    return data.size() > ext.size() && ends_with(data, ext);
}

InputsFile read_inputs_file(const std::string& path) {
    InputsFile in;
    in.file = SafetensorsFile::open(path);
    const SafetensorsFile& f = *in.file;
    auto fail = [&](const std::string& tensor, const std::string& what) { throw Error(path, tensor + ": " + what); };
    const TensorInfo *ids = nullptr, *mask = nullptr, *labels = nullptr, *grid = nullptr, *sizes = nullptr, *tiles = nullptr;
    for (const TensorInfo& t : f.tensors()) {
        if (t.name == "input_ids") ids = &t;
        else if (t.name == "attention_mask") mask = &t;
        else if (t.name == "labels") labels = &t;
        else if (t.name == "pixel_values") in.pixel_values = &t;
        else if (t.name == "image_grid_thw") grid = &t;
        else if (t.name == "image_sizes") sizes = &t;
        else if (t.name == "image_tiles") tiles = &t;
        else fail(t.name, std::string("not a model input (expected ") + kTensors + ")");
    }
    if (!ids) fail("input_ids", "missing");
    bool ok = false;
    in.input_ids = integers(f, *ids, ok);
    if (!ok || ids->shape.size() != 2 || ids->shape[0] == 0 || ids->shape[1] == 0)
        fail("input_ids", std::string("must be a non-empty integer [samples, tokens] tensor, is ") + dtype_name(ids->dtype) + " " +
                              shape_text(ids->shape));
    in.rows = ids->shape[0];
    in.tokens = ids->shape[1];
    for (int64_t v : in.input_ids)
        if (v < 0) fail("input_ids", "holds a negative token id (" + std::to_string(v) + ")");
    for (auto [name, info, values] : {std::tuple<const char*, const TensorInfo*, std::vector<int64_t>*>{"attention_mask", mask, &in.attention_mask},
                                      {"labels", labels, &in.labels}}) {
        if (!info) continue;
        *values = integers(f, *info, ok);
        if (!ok || info->shape != ids->shape)
            fail(name, "must be an integer tensor shaped as input_ids " + shape_text(ids->shape) + ", is " + dtype_name(info->dtype) +
                           " " + shape_text(info->shape));
    }
    for (int64_t v : in.attention_mask)
        if (v != 0 && v != 1) fail("attention_mask", "holds " + std::to_string(v) + "; only 0 and 1 are allowed");
    if (grid && !in.pixel_values) fail("image_grid_thw", "given without pixel_values");
    if (sizes && !in.pixel_values) fail("image_sizes", "given without pixel_values");
    if (tiles && !in.pixel_values) fail("image_tiles", "given without pixel_values");
    if (grid && sizes) fail("image_sizes", "given with image_grid_thw; a model takes one or the other");
    if (tiles && (grid || sizes))
        fail("image_tiles", std::string("given with ") + (grid ? "image_grid_thw" : "image_sizes") + "; a model takes one or the other");
    if (!in.pixel_values) return in;
    const TensorInfo& px = *in.pixel_values;
    if (!floating(px.dtype)) fail("pixel_values", std::string("must be floating point, is ") + dtype_name(px.dtype));
    for (int64_t d : px.shape)
        if (d < 1) fail("pixel_values", "has an empty dimension: " + shape_text(px.shape));
    if (sizes) {
        in.image_sizes = integers(f, *sizes, ok);
        if (!ok || sizes->shape != std::vector<int64_t>{in.rows, 2})
            fail("image_sizes", "must be an integer [samples, 2] tensor (one image per input_ids row), is " + shape_text(sizes->shape));
        for (int64_t v : in.image_sizes)
            if (v < 1) fail("image_sizes", "holds an image side of " + std::to_string(v) + " pixels");
        if (px.shape.size() != 5 || px.shape[0] != in.rows)
            fail("pixel_values", "must be [samples, views, channels, height, width] with image_sizes, is " + shape_text(px.shape));
        return in;
    }
    if (!grid && !tiles) {
        if (px.shape.size() != 4 || px.shape[0] != in.rows)
            fail("pixel_values", "must be [samples, channels, height, width] with one image per input_ids row (" +
                                     std::to_string(in.rows) + "), is " + shape_text(px.shape));
        return in;
    }
    // A patch grid (t, h, w per row: t·h·w patches) or a tile grid (rows, columns per row: the tiles
    // and a thumbnail when more than one) gives each row's rows of pixel_values.
    const char* const grid_name = grid ? "image_grid_thw" : "image_tiles";
    const int64_t k_max = grid ? 3 : 2;
    std::vector<int64_t>& table = grid ? in.image_grid_thw : in.image_tiles;
    table = integers(f, grid ? *grid : *tiles, ok);
    if (!ok || (grid ? grid : tiles)->shape != std::vector<int64_t>{in.rows, k_max})
        fail(grid_name, "must be an integer [samples, " + std::to_string(k_max) + "] tensor (one image per input_ids row), is " +
                            shape_text((grid ? grid : tiles)->shape));
    if (grid && px.shape.size() != 2) fail("pixel_values", "must be [patches, features] with image_grid_thw, is " + shape_text(px.shape));
    if (tiles && px.shape.size() != 4)
        fail("pixel_values", "must be [views, channels, height, width] with image_tiles, is " + shape_text(px.shape));
    // Each row's count summed; `more` once the sum passes the rows pixel_values has (checked by
    // division, so no product overflows).
    const int64_t have = px.shape[0];
    bool more = false;
    in.patch_begin = {0};
    for (int64_t r = 0; r < in.rows; ++r) {
        int64_t count = 1;
        for (int64_t k = 0; k < k_max; ++k) {
            const int64_t g = table[static_cast<size_t>(r * k_max + k)];
            if (g < 1) fail(grid_name, "row " + std::to_string(r) + " has grid size " + std::to_string(g));
            if (count > have / g) more = true;
            else count *= g;
        }
        if (tiles && count > 1) ++count;  // the thumbnail
        if (!more && count > have - in.patch_begin.back()) more = true;
        in.patch_begin.push_back(more ? have : in.patch_begin.back() + count);
    }
    if (more || in.patch_begin.back() != have)
        fail("pixel_values", "has " + std::to_string(have) + (grid ? " patches, " : " views, ") + grid_name + " adds up to " +
                                 (more ? "more" : std::to_string(in.patch_begin.back())));
    return in;
}

}  // namespace ps
