// A checkpoint's image processor as preprocessor_config.json describes it (the processor types
// core/data/image_processor.h reproduces), read over transformers' constructor defaults, and the
// sizes and tile grids it gives an image: the geometry, without pixels, that prompts and the
// processor share.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/resample.h"

namespace ps {

struct ImageProcessorConfig {
    std::string type;  // image_processor_type, e.g. "CLIPImageProcessor"
    bool do_resize = true;
    int shortest_edge = 0;  // > 0: scale the shorter side to this, keeping the aspect ratio...
    int height = 224;       // ...otherwise resize to exactly height x width
    int width = 224;
    ResampleFilter resample = ResampleFilter::Bicubic;
    bool do_center_crop = false;
    int crop_height = 224;
    int crop_width = 224;
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255;
    bool do_normalize = true;
    std::array<double, 3> image_mean{0.5, 0.5, 0.5};
    std::array<double, 3> image_std{0.5, 0.5, 0.5};
    bool do_convert_rgb = false;  // no effect here: inputs are already RGB
    // Qwen2-VL's native resolution (Qwen2VLImageProcessor): each image resized by smart_resize to
    // multiples of patch_size * merge_size holding min_pixels..max_pixels pixels, then cut into
    // patches (image_patches).
    bool native_resolution = false;
    int64_t min_pixels = 56 * 56, max_pixels = 28 * 28 * 1280;
    int patch_size = 14, temporal_patch_size = 2, merge_size = 2;
    // Anyres (LlavaNextImageProcessor, LlavaOnevisionImageProcessor): the resolutions (height, width)
    // an image may be tiled at, in square tiles of `tile` pixels (LLaVA-NeXT's crop height,
    // OneVision's size height); non-empty turns it on (anyres_tiles).
    std::vector<std::array<int, 2>> grid_pinpoints;
    int tile = 0;
    // GotOcr2ImageProcessor (InternVL): each image cut into min_patches..max_patches tiles of height x
    // width on the grid closest to its aspect ratio, with a thumbnail after them (crop_tiles). On,
    // whatever the file says, as InternVLProcessor passes crop_to_patches.
    bool crop_to_patches = false;
    int min_patches = 1, max_patches = 12;
    // Idefics3ImageProcessor (SmolVLM's too): each image resized so its longer side is
    // longest_edge (size), then with do_image_splitting onto a multiple of max_image_size a side and
    // cut into tiles of that size with the whole image resized to one tile after them, or without
    // it resized to one tile (split_tiles). max_image_size > 0 turns it on.
    int longest_edge = 0, max_image_size = 0;
    bool do_image_splitting = true;

    // Whether each image becomes tiles and a whole view (crop_tiles, tile_grid).
    bool cuts_tiles() const { return crop_to_patches || max_image_size > 0; }
};

// The constructor defaults transformers gives `type` (CLIPImageProcessor, SiglipImageProcessor,
// ViTImageProcessor; a "Fast" suffix is accepted and treated alike). Throws ps::Error otherwise.
ImageProcessorConfig image_processor_defaults(const std::string& type);

// Reads `path`, a preprocessor_config.json or the checkpoint folder holding one. Missing fields
// take the type's defaults; a malformed field throws ps::Error naming the file and the field.
ImageProcessorConfig read_image_processor_config(const std::string& path);

// The (height, width) an image of rows x cols has after the resize step. Throws ps::Error for a
// native-resolution processor and an image whose sides differ by more than 200 times.
std::array<int, 2> resized_size(int rows, int cols, const ImageProcessorConfig& cfg);

// transformers' select_best_resolution: of `pinpoints` (height, width), the one keeping the most of
// an image of rows x cols once scaled into it, ties to the least padding, then the first.
std::array<int, 2> best_resolution(int rows, int cols, const std::vector<std::array<int, 2>>& pinpoints);

// The tile grid (rows, columns) of an image of rows x cols: GOT-OCR2's get_optimal_tiled_canvas,
// of min_patches..max_patches tiles, whose aspect ratio is closest to the image's (a tie to more
// tiles while they cover less than twice the image); Idefics3's, the tiles of max_image_size its
// resized image spans ((1, 1) when it is one tile or not split). (1, 1) for other processors.
std::array<int, 2> tile_grid(int rows, int cols, const ImageProcessorConfig& cfg);
// Idefics3's sizes for an image of rows x cols: after the resize to longest_edge (the longer side
// that, the other in proportion, truncated and rounded up to even; then kept within 4096), and
// after resize_for_vision_encoder (each side up to a multiple of max_image_size, the shorter one
// from the aspect ratio), in Python's float arithmetic; whether it is then split into tiles.
// Throws ps::Error for an image of more than 1024 tiles.
struct SplitSizes {
    std::array<int, 2> resized{}, canvas{};
    bool split = false;
};
SplitSizes split_sizes(int rows, int cols, const ImageProcessorConfig& cfg);

}  // namespace ps
