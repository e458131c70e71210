// A conversation file's bytes through load_llava_conversations: every record is read or refused
// with ps::Error. The image folder holds one image, a.png, that records may name.
#include <cstddef>
#include <cstdint>

#include "core/data/llava_conversations.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string file = ps_fuzz::write_input("fuzz_llava_conversations", "chat.json", data, size);
    try {
        ps::load_llava_conversations(file);
    } catch (const ps::Error&) {
    }
    return 0;
}
