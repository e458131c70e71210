// A calibration inputs file's bytes through read_inputs_file: every file is read or refused with
// ps::Error.
#include <cstddef>
#include <cstdint>

#include "core/data/inputs_file.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string file = ps_fuzz::write_input("fuzz_inputs_file", "inputs.safetensors", data, size);
    try {
        ps::read_inputs_file(file);
    } catch (const ps::Error&) {
    }
    return 0;
}
