// Element types of the safetensors format, with their wire names and sizes.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace ps {

enum class DType { BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2 };

std::optional<DType> dtype_from_string(const std::string& s);
const char* dtype_name(DType t);
size_t dtype_size(DType t);

}  // namespace ps
