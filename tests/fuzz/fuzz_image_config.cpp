// A preprocessor_config.json's bytes through read_image_processor_config, then the sizes and tile
// grids the read config gives images of extreme shapes: each is read or refused with ps::Error, and
// every grid read has at least one tile a side (Idefics3's canvas a multiple of its tile).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/data/image_processor_config.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 14)) return 0;  // larger inputs only slow the search down
    const std::string path = ps_fuzz::write_input("fuzz_image_config", "preprocessor_config.json", data, size);
    ps::ImageProcessorConfig cfg;
    try {
        cfg = ps::read_image_processor_config(path);
    } catch (const ps::Error&) {
        return 0;
    }
    for (const auto [rows, cols] : {std::array<int, 2>{1, 1}, {1, 4096}, {4096, 1}, {333, 777}, {28, 28}}) {
        try {
            const std::array<int, 2> grid = ps::tile_grid(rows, cols, cfg);
            if (grid[0] < 1 || grid[1] < 1) std::abort();
            if (cfg.max_image_size > 0 && cfg.do_image_splitting) {
                const ps::SplitSizes s = ps::split_sizes(rows, cols, cfg);
                if (s.canvas[0] % cfg.max_image_size || s.canvas[1] % cfg.max_image_size) std::abort();
            }
            ps::resized_size(rows, cols, cfg);
        } catch (const ps::Error&) {
        }
    }
    return 0;
}
