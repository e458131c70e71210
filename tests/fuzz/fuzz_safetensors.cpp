// A .safetensors file's bytes through the header parser: it either returns a header whose every
// tensor lies inside the data buffer, or throws ps::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const ps::SafetensorsHeader h = ps::parse_safetensors(data, size, "fuzz.safetensors");
        for (const ps::TensorInfo& t : h.tensors)
            // accepted a tensor outside the file, or one whose bytes are not its shape times its dtype
            if (t.end < t.begin || h.data_offset + t.end > size || t.numel() * ps::dtype_size(t.dtype) != t.nbytes()) std::abort();
    } catch (const ps::Error&) {
    }
    return 0;
}
