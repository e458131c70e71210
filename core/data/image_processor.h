// The image preprocessing of Hugging Face's CLIP, SigLIP, ViT, Qwen2-VL, LLaVA-NeXT,
// LLaVA-OneVision, GOT-OCR2 (InternVL's), Idefics3 (SmolVLM's), Gemma 3 and BLIP image
// processors, configured from a checkpoint's preprocessor_config.json, so that pixel_values built here
// equal transformers' (the PIL-based "slow" processors): resize, centre crop, rescale, normalize, in
// that order; Qwen2-VL's native resolution then cuts the image into the flattened patches its vision
// tower takes, LLaVA-NeXT's anyres first tiles it on the grid that fits it best.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <opencv2/core/mat.hpp>

#include "core/data/image_processor_config.h"

namespace ps {

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

// Anyres: the image scaled, keeping its aspect ratio, into its best resolution, centred on a zero
// background and cut into tiles (row-major), after a global view resized to the processor's size
// (a square of the shortest edge, or height x width); each then preprocessed: [1 + tiles, 3, h, w].
at::Tensor anyres_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg);

// The views of an image cut into tiles, each preprocessed: [views, 3, height, width]. GOT-OCR2:
// the image resized (bicubic) onto its tile grid and cut into tiles (row-major), then, for more
// than one tile, a thumbnail of the whole image. Idefics3: the tiles of its resized image, then,
// for more than one, the whole image resized to one tile (all resizes with `resample`).
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
