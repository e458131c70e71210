// A .gguf file's bytes through the parser, then every tensor it accepts through dequantisation:
// it either returns a header whose tensors lie inside the data section without overlapping, or
// throws ps::Error; dequantising an accepted tensor of a supported type never reads outside it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const ps::GgufHeader h = ps::parse_gguf(data, size, "fuzz.gguf");
        for (const ps::GgufTensorInfo& t : h.tensors) {
            if (h.data_offset + t.offset + t.nbytes > size) std::abort();  // accepted bytes outside the file
            if (!ps::ggml_type_supported(t.type) || t.numel() > (1u << 20)) continue;
            std::vector<float> out(t.numel());
            ps::dequantize(t.type, data + h.data_offset + t.offset, out.data(), out.size(), t.name);
        }
    } catch (const ps::Error&) {
    }
    return 0;
}
