#include "core/io/tensor_view.h"

#include <cstdint>

#include "core/error.h"

namespace ps {

at::ScalarType to_scalar_type(DType t) {
    switch (t) {
        case DType::BOOL: return at::kBool;
        case DType::U8: return at::kByte;
        case DType::I8: return at::kChar;
        case DType::I16: return at::kShort;
        case DType::U16: return at::kUInt16;
        case DType::I32: return at::kInt;
        case DType::U32: return at::kUInt32;
        case DType::I64: return at::kLong;
        case DType::U64: return at::kUInt64;
        case DType::F16: return at::kHalf;
        case DType::BF16: return at::kBFloat16;
        case DType::F32: return at::kFloat;
        case DType::F64: return at::kDouble;
        case DType::F8_E4M3: return at::kFloat8_e4m3fn;
        case DType::F8_E5M2: return at::kFloat8_e5m2;
    }
    return at::kFloat;
}

DType from_scalar_type(at::ScalarType t) {
    for (int i = 0; i <= static_cast<int>(DType::F8_E5M2); ++i)
        if (to_scalar_type(static_cast<DType>(i)) == t) return static_cast<DType>(i);
    throw Error("", std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors");
}

at::Tensor tensor_view(const std::shared_ptr<const SafetensorsFile>& file, const TensorInfo& info) {
    const auto options = at::TensorOptions().dtype(to_scalar_type(info.dtype)).device(at::kCPU);
    std::vector<int64_t> shape(info.shape.begin(), info.shape.end());
    if (info.nbytes() == 0) return at::empty(shape, options);
    uint8_t* p = file->data(info);
    if (reinterpret_cast<uintptr_t>(p) % dtype_size(info.dtype) != 0)
        return at::from_blob(p, shape, options).clone();  // from_blob without deleter: copied at once
    auto keep = file;  // the deleter owns a reference to the mapping
    return at::from_blob(p, shape, [keep](void*) mutable { keep.reset(); }, options);
}

at::Tensor tensor_view(const Checkpoint& ckpt, const std::string& name) {
    const auto& e = ckpt.at(name);
    return tensor_view(e.shard, *e.info);
}

std::string shape_string(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
    const auto file = SafetensorsFile::open(path);
    NamedTensors out;
    for (const TensorInfo& t : file->tensors()) out.emplace_back(t.name, tensor_view(file, t));
    if (metadata) *metadata = file->metadata();
    return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
    std::vector<at::Tensor> keep;
    std::vector<TensorBytes> bytes;
    keep.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        DType dt;
        try {
            dt = from_scalar_type(t.scalar_type());
        } catch (const Error&) {
            throw Error(path, "tensor '" + name + "' has dtype " + c10::toString(t.scalar_type()) +
                                  ", which safetensors cannot hold");
        }
        keep.push_back(t.to(at::kCPU).contiguous());
        const at::Tensor& c = keep.back();
        bytes.push_back({name, dt, c.sizes().vec(), c.data_ptr(), static_cast<uint64_t>(c.nbytes())});
    }
    write_safetensors(path, bytes, metadata);
}

}  // namespace ps
