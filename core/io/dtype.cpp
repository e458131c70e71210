#include "core/io/dtype.h"

#include <array>
#include <utility>

namespace ps {
namespace {

struct Entry {
    DType type;
    const char* name;
    size_t size;
};

constexpr std::array<Entry, 15> kTable{{
    {DType::BOOL, "BOOL", 1},   {DType::U8, "U8", 1},         {DType::I8, "I8", 1},
    {DType::I16, "I16", 2},     {DType::U16, "U16", 2},       {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},     {DType::I64, "I64", 8},       {DType::U64, "U64", 8},
    {DType::F16, "F16", 2},     {DType::BF16, "BF16", 2},     {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},     {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
}};

const Entry& entry(DType t) { return kTable[static_cast<size_t>(t)]; }

}  // namespace

std::optional<DType> dtype_from_string(const std::string& s) {
    for (const Entry& e : kTable)
        if (s == e.name) return e.type;
    return std::nullopt;
}

const char* dtype_name(DType t) { return entry(t).name; }
size_t dtype_size(DType t) { return entry(t).size; }

}  // namespace ps
