// An image file's bytes through decode_image (format checks, then OpenCV): it either returns a
// non-empty 8-bit RGB image or throws ps::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>

#include "core/data/image.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 16)) return 0;  // larger inputs only slow the search down
    try {
        const cv::Mat rgb = ps::decode_image(std::vector<uint8_t>(data, data + size), "fuzz image");
        if (rgb.empty() || rgb.type() != CV_8UC3) std::abort();
    } catch (const ps::Error&) {
    }
    return 0;
}
