// A calibration set saved as the model's own inputs (a .safetensors file): token ids and pixels
// exactly as another tool or script prepared them, so two tools calibrate on identical data and
// a checkpoint without tokenizer or processor files can still be calibrated. One row per sample:
// input_ids [S,T] (integer); optional attention_mask [S,T] (0/1) and labels [S,T] (integer, -100
// where no loss is taken); pixel_values [S,C,H,W] (one image per row, floating point), with
// image_grid_thw [S,3] every row's flattened patches one after another as Qwen2-VL's processor
// writes them, with image_sizes [S,2] every row's views [S,V,C,H,W] as LLaVA-NeXT's does, or with
// image_tiles [S,2] every row's tiles and thumbnail one after another [V,C,H,W] as InternVL's does.
// Read without torch (the fuzz targets build it); core/prune/calibration makes the tensors.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace ps {

// Whether a Plan's calibration.data names such a file (a path ending in .safetensors).
bool is_inputs_file(const std::string& data);

struct InputsFile {
    std::shared_ptr<const SafetensorsFile> file;
    int64_t rows = 0, tokens = 0;
    std::vector<int64_t> input_ids, attention_mask, labels;  // rows·tokens each; the last two empty when absent
    const TensorInfo* pixel_values = nullptr;                // in `file`; null without images
    std::vector<int64_t> image_grid_thw;                      // rows·3, or empty
    std::vector<int64_t> image_sizes;                         // rows·2 (height, width), or empty
    std::vector<int64_t> image_tiles;                         // rows·2 (tile rows, tile columns), or empty
    std::vector<int64_t> patch_begin;                         // with a grid: each row's first patch (or view), then the total
};

// Reads and checks the whole file; throws ps::Error naming it and the tensor: a missing
// input_ids, an unknown tensor, a wrong rank, dtype or row count, a negative token id, a mask that
// is not 0/1, a patch grid that does not add up to pixel_values' rows, an image size below 1 pixel.
InputsFile read_inputs_file(const std::string& path);

}  // namespace ps
