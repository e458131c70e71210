#include "core/data/image_header.h"

#include <cstdlib>
#include <cstring>

namespace ps {
namespace {

bool starts_with(const std::vector<uint8_t>& b, const std::string& magic, size_t offset = 0) {
    return b.size() >= offset + magic.size() && std::memcmp(b.data() + offset, magic.data(), magic.size()) == 0;
}

// Unsigned integers of `n` bytes at `at`, big- or little-endian; 0 past the end.
uint64_t be(const std::vector<uint8_t>& b, size_t at, int n) {
    if (at + n > b.size()) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | b[at + i];
    return v;
}
uint64_t le(const std::vector<uint8_t>& b, size_t at, int n) {
    if (at + n > b.size()) return 0;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + i];
    return v;
}

std::string format_of(const std::vector<uint8_t>& b) {
    if (starts_with(b, "\x89PNG\r\n\x1a\n")) return "PNG";
    if (starts_with(b, "\xff\xd8\xff")) return "JPEG";
    if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8)) return "WebP";
    if (starts_with(b, "BM")) return "BMP";
    if (starts_with(b, {"II*\0", 4}) || starts_with(b, {"MM\0*", 4})) return "TIFF";
    return "";
}

// libjpeg only warns about a missing end, filling the rest with grey; PIL refuses such a file.
// Complete JPEG data has an end-of-image marker after its last start-of-scan marker (0xFF is
// byte-stuffed inside scan data, so neither pair occurs there by accident).
bool jpeg_truncated(const std::vector<uint8_t>& b) {
    size_t last_sos = 0, last_eoi = 0;
    for (size_t i = 2; i + 1 < b.size(); ++i) {
        if (b[i] != 0xff) continue;
        if (b[i + 1] == 0xda) last_sos = i;
        if (b[i + 1] == 0xd9) last_eoi = i;
    }
    return last_sos == 0 || last_eoi < last_sos;
}

// libpng reports truncated data on stderr before OpenCV gives up; a walk over the chunks finds
// it first. Complete PNG data is a chain of chunks (4-byte length, type, data, CRC) ending in IEND.
bool png_truncated(const std::vector<uint8_t>& b) {
    size_t at = 8;
    while (at + 12 <= b.size()) {
        const uint64_t length = be(b, at, 4);
        if (std::memcmp(b.data() + at + 4, "IEND", 4) == 0) return false;
        if (length > b.size() - at - 12) return true;
        at += 12 + length;
    }
    return true;
}

void png_size(const std::vector<uint8_t>& b, ImageHeader& h) {
    if (!starts_with(b, "IHDR", 12)) return;  // libpng requires IHDR first
    h.width = static_cast<int64_t>(be(b, 16, 4));
    h.height = static_cast<int64_t>(be(b, 20, 4));
}

// The frame header libjpeg reads: it walks the segments from the start, skipping stray bytes
// before a marker and 0xFF fill, up to the first start-of-frame (any SOFn: C0-CF but DHT C4,
// JPG C8, DAC CC) and gives up at the first start-of-scan without one.
void jpeg_size(const std::vector<uint8_t>& b, ImageHeader& h) {
    size_t at = 2;
    while (at < b.size()) {
        while (at < b.size() && b[at] != 0xff) ++at;
        while (at < b.size() && b[at] == 0xff) ++at;
        if (at >= b.size()) return;
        const uint8_t marker = b[at++];
        if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;  // no length
        if (marker == 0xda || marker == 0xd9) return;
        if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
            h.height = static_cast<int64_t>(be(b, at + 3, 2));
            h.width = static_cast<int64_t>(be(b, at + 5, 2));
            return;
        }
        const uint64_t length = be(b, at, 2);
        if (length < 2) return;
        at += length;
    }
}

// A RIFF container whose first chunk is a lossy (VP8), lossless (VP8L) or extended (VP8X,
// canvas size) bitstream.
void webp_size(const std::vector<uint8_t>& b, ImageHeader& h) {
    if (starts_with(b, "VP8 ", 12)) {  // frame tag (3 bytes), start code 9d 01 2a, 14-bit sizes
        h.width = static_cast<int64_t>(le(b, 26, 2) & 0x3fff);
        h.height = static_cast<int64_t>(le(b, 28, 2) & 0x3fff);
    } else if (starts_with(b, "VP8L", 12)) {  // signature 0x2f, then width-1 and height-1 in 14 bits each
        const uint64_t bits = le(b, 21, 4);
        h.width = static_cast<int64_t>((bits & 0x3fff) + 1);
        h.height = static_cast<int64_t>(((bits >> 14) & 0x3fff) + 1);
    } else if (starts_with(b, "VP8X", 12)) {  // flags (4 bytes), then canvas width-1 and height-1 in 24 bits
        h.width = static_cast<int64_t>(le(b, 24, 3) + 1);
        h.height = static_cast<int64_t>(le(b, 27, 3) + 1);
    }
}

// The DIB header after the 14-byte file header: OS/2's 12-byte core header has 16-bit sizes,
// the larger Windows headers signed 32-bit ones (a negative height is a top-down image).
void bmp_size(const std::vector<uint8_t>& b, ImageHeader& h) {
    const uint64_t dib = le(b, 14, 4);
    if (dib == 12) {
        h.width = static_cast<int64_t>(le(b, 18, 2));
        h.height = static_cast<int64_t>(le(b, 20, 2));
    } else if (dib >= 36) {
        h.width = std::llabs(static_cast<int32_t>(le(b, 18, 4)));
        h.height = std::llabs(static_cast<int32_t>(le(b, 22, 4)));
    }
}

// ImageWidth (256) and ImageLength (257) in the first image file directory, the page OpenCV
// decodes; each a SHORT (type 3) or LONG (type 4) value stored in the entry itself.
void tiff_size(const std::vector<uint8_t>& b, ImageHeader& h) {
    const bool little = b[0] == 'I';
    const auto u = [&](size_t at, int n) { return little ? le(b, at, n) : be(b, at, n); };
    const uint64_t ifd = u(4, 4);
    const uint64_t entries = u(ifd, 2);
    for (uint64_t i = 0; i < entries; ++i) {
        const size_t e = ifd + 2 + 12 * i;
        if (e + 12 > b.size()) return;
        const uint64_t tag = u(e, 2), type = u(e + 2, 2);
        if (tag != 256 && tag != 257) continue;
        const int64_t v = static_cast<int64_t>(type == 3 ? u(e + 8, 2) : type == 4 ? u(e + 8, 4) : 0);
        (tag == 256 ? h.width : h.height) = v;
    }
}

}  // namespace

ImageHeader read_image_header(const std::vector<uint8_t>& bytes) {
    ImageHeader h;
    h.format = format_of(bytes);
    if (h.format == "PNG") {
        h.truncated = png_truncated(bytes);
        png_size(bytes, h);
    } else if (h.format == "JPEG") {
        h.truncated = jpeg_truncated(bytes);
        jpeg_size(bytes, h);
    } else if (h.format == "WebP") {
        webp_size(bytes, h);
    } else if (h.format == "BMP") {
        bmp_size(bytes, h);
    } else if (h.format == "TIFF") {
        tiff_size(bytes, h);
    }
    return h;
}

}  // namespace ps
