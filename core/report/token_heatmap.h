// A token-importance heatmap over an image: the grid upsampled to the image, an OpenCV colormap
// blended over it, the tokens pruning drops dimmed and hatched, and a thin grid at token borders.
// The one renderer the GUI, the CLI and reports use.
#pragma once
#include <string>

#include <opencv2/core/mat.hpp>

#include "core/token/token_grid.h"

namespace ps {

struct HeatmapOptions {
    double alpha = 0.55;             // weight of the colormap over the image
    int min_side = 336;              // small images are scaled up (nearest) to at least this side
    std::string colormap = "inferno";  // inferno | jet | viridis | turbo | magma
};

// `rgb` CV_8UC3 (what the model saw, e.g. model_view()), scores min-max normalised per image.
// Returns CV_8UC3 RGB. Throws ps::Error for an empty grid or an unknown colormap.
cv::Mat render_token_heatmap(const cv::Mat& rgb, const TokenGrid& grid, const HeatmapOptions& opt = {});

// Writes an RGB image as PNG to `path` atomically (temp file + rename); ps::Error names the path.
void write_png(const std::string& path, const cv::Mat& rgb);

}  // namespace ps
