// What an encoded image's first bytes say before any decoder runs: the format its signature
// names, whether its data is complete, and the width and height it declares. Decoders allocate
// for the declared size, so a few bytes could otherwise ask for gigabytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ps {

struct ImageHeader {
    std::string format;      // "PNG", "JPEG", "WebP", "BMP", "TIFF", or "" for none OpenCV reads
    bool truncated = false;  // PNG / JPEG data that ends before its last chunk or marker
    int64_t width = 0;       // as declared; 0 when the header does not say (the decoder then fails)
    int64_t height = 0;
};

ImageHeader read_image_header(const std::vector<uint8_t>& bytes);

}  // namespace ps
