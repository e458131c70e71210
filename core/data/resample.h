// PIL-compatible image resizing. Hugging Face image processors resize through PIL.Image.resize,
// whose separable convolution widens the filter when downscaling (antialiasing) and rounds to
// uint8 between its two passes; OpenCV's cv::resize does neither, so this reproduces PIL's
// algorithm (Pillow src/libImaging/Resample.c) to give bit-identical uint8 results.
#pragma once
#include <opencv2/core/mat.hpp>

namespace ps {

// Values are PIL's Image.Resampling enum, as stored in preprocessor_config.json "resample".
// PIL's NEAREST (0) is a different code path (affine transform) and is not provided.
enum class ResampleFilter { Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 };

// nullptr when `pil_value` is not one of the filters above.
const char* resample_filter_name(int pil_value);

// Resizes an 8-bit image with 1 to 4 interleaved channels to width x height, exactly as
// PIL.Image.resize((width, height), filter) does for modes L and RGB. Throws ps::Error for an
// empty image, a non-8-bit type or a non-positive size.
cv::Mat pil_resize(const cv::Mat& src, int width, int height, ResampleFilter filter);

}  // namespace ps
