// A question file's bytes through load_vqa_file, once alone (answers inline) and once with the
// same bytes as its annotation file: every line is read or refused with ps::Error. The image
// folder holds one image, a.png, that lines may name.
#include <cstddef>
#include <cstdint>

#include "core/data/vqa_file.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string file = ps_fuzz::write_input("fuzz_vqa_file", "questions.jsonl", data, size);
    for (bool annotated : {false, true}) {
        ps::VqaFileOptions opt;
        if (annotated) opt.annotations = file;
        try {
            ps::load_vqa_file(file, opt);
        } catch (const ps::Error&) {
        }
    }
    return 0;
}
