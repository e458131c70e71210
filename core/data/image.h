// Image decoding into the 8-bit RGB that model preprocessing starts from, as
// transformers.image_utils.load_image gives it: EXIF orientation applied, then PIL's
// convert("RGB") (grey replicated, alpha dropped, palette expanded).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace ps {

// The most pixels an image may declare (8192 x 8192; the decoded RGB copy and OpenCV's BGR
// one take 400 MB): a larger header is refused before a decoder allocates for it.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// A CV_8UC3 image in RGB order. Throws ps::Error("<path>: cannot decode image (...)") for a
// missing, empty, truncated, oversized or non-image file.
cv::Mat load_image(const std::string& path);
// The same for encoded bytes in memory; `label` names them in errors.
cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& label);

// The path of image `rel`, named by a user's file relative to `folder`. Throws ps::Error naming
// `where` (the file and line that named it) for an empty, absolute or folder-leaving ("..") path
// and for one that is not an existing file; the image is not decoded.
std::string image_in_folder(const std::string& folder, const std::string& rel, const std::string& where);

}  // namespace ps
