// The image preprocessing of Hugging Face's CLIP, SigLIP, ViT, Qwen2-VL, LLaVA-NeXT,
// LLaVA-OneVision and GOT-OCR2 (InternVL's) image processors, configured from a checkpoint's preprocessor_config.json, so that pixel_values built here
// equal transformers' (the PIL-based "slow" processors): resize, centre crop, rescale, normalize, in
// that order; Qwen2-VL's native resolution then cuts the image into the flattened patches its vision
// tower takes, LLaVA-NeXT's anyres first tiles it on the grid that fits it best.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <opencv2/core/mat.hpp>

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

// One CV_8UC3 RGB image (as load_image returns) to float32 pixel_values of shape [3, H, W].
at::Tensor preprocess(const cv::Mat& rgb, const ImageProcessorConfig& cfg);
// Several images to [N, 3, H, W]; throws ps::Error if their processed sizes differ (possible
// with shortest_edge resizing and no centre crop).
at::Tensor preprocess_batch(const std::vector<cv::Mat>& images, const ImageProcessorConfig& cfg);

// Grayscale images [N, H, W] uint8 (as read from IDX files) to pixel_values [N, 3, h, w], equal to
// what preprocess() gives for the same image converted to RGB (grey replicated on three channels).
// When neither resize nor crop changes the size, rescale and normalize run as tensor ops on the
// whole batch; otherwise each image goes through preprocess(). Throws ps::Error for another shape
// or dtype, or an empty batch.
at::Tensor preprocess_gray_batch(const at::Tensor& images, const ImageProcessorConfig& cfg);

// A native-resolution image [3, H, W] (as preprocess() gives it) as its vision tower's patches:
// [gh * gw, 3 * temporal_patch_size * patch_size^2], the image repeated in time, patches in the
// order of merge_size x merge_size groups as Qwen2VLImageProcessor writes them; `grid` gets
// (1, gh, gw). Throws ps::Error when H or W is not a multiple of patch_size * merge_size.
at::Tensor image_patches(const at::Tensor& pixels, const ImageProcessorConfig& cfg, std::array<int64_t, 3>& grid);

// transformers' select_best_resolution: of `pinpoints` (height, width), the one keeping the most of
// an image of rows x cols once scaled into it, ties to the least padding, then the first.
std::array<int, 2> best_resolution(int rows, int cols, const std::vector<std::array<int, 2>>& pinpoints);

// Anyres: the image scaled, keeping its aspect ratio, into its best resolution, centred on a zero
// background and cut into tiles (row-major), after a global view resized to the processor's size
// (a square of the shortest edge, or height x width); each then preprocessed: [1 + tiles, 3, h, w].
at::Tensor anyres_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg);

// GOT-OCR2's get_optimal_tiled_canvas: the tile grid (rows, columns) of an image of rows x cols, of
// min_patches..max_patches tiles, whose aspect ratio is closest to the image's (a tie to more tiles
// while they cover less than twice the image). (1, 1) without crop_to_patches.
std::array<int, 2> tile_grid(int rows, int cols, const ImageProcessorConfig& cfg);
// The views of crop_to_patches: the image resized (bicubic) onto its tile grid and cut into tiles
// (row-major), then, for more than one tile, a thumbnail of the whole image; each preprocessed:
// [views, 3, height, width].
at::Tensor crop_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg);
// Views an image of that grid has: its tiles, and the thumbnail when there is more than one; of
// each image's grid in image_tiles [images, 2], [images] on the CPU.
inline int64_t tile_views(const std::array<int, 2>& grid) {
    const int64_t tiles = int64_t{grid[0]} * grid[1];
    return tiles + (tiles > 1);
}
inline at::Tensor tile_views(const at::Tensor& image_tiles) {
    const at::Tensor tiles = image_tiles.to(at::kCPU, at::kLong).prod(-1);
    return tiles + (tiles > 1).to(at::kLong);
}

// The inverse of image_patches for one image of (1, rows, cols) patches: its first frame [3, H, W].
at::Tensor patches_image(const at::Tensor& patches, int64_t rows, int64_t cols, const ImageProcessorConfig& cfg);

}  // namespace ps
