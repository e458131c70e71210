// Token importance over the images of an input, per image and layer: the vision tower's patch
// tokens (metrics cls, received, cim) or the image tokens inside a decoder (text, FastV).
// Attention is computed eagerly at the scored block only; every other block keeps fused SDPA.
#pragma once
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/data/image_processor.h"
#include "core/model/vlm.h"
#include "core/token/token_grid.h"
#include "core/token/token_importance.h"

namespace ps {

// One grid per image of `in` at `block` (of the vision tower; of the decoder for TokenMetric::Text):
// a square of patches, for a native-resolution image (image_grid_thw) its grid of merged tokens
// as the model tiled it, each the mean of its patches' scores in the vision tower, for a tiled image
// (image_sizes) its tiles' patches as the tiles sit in the image (the global view left out). Throws ps::Error
// naming the block or metric when the model has no such block, the metric does not fit the model,
// or the patches do not form a square grid.
std::vector<TokenGrid> image_token_importance(const Vlm& model, const VlmInputs& in, int block, TokenMetric metric);

// One image's token scores [P] (any shape of P values, in row-major patch order) as its side x
// side grid; throws ps::Error when P is not a square.
TokenGrid square_grid(const at::Tensor& scores);

// The image the model saw: image `image` of in.pixel_values ([B,3,H,W], native-resolution patches
// with image_grid_thw, or tiles with image_sizes, put back together), normalised by `cfg`, back to
// 8-bit RGB (CV_8UC3).
cv::Mat model_view(const VlmInputs& in, int64_t image, const ImageProcessorConfig& cfg);

}  // namespace ps
