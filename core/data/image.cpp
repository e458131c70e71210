#include "core/data/image.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace ps {
namespace {

Error undecodable(const std::string& label, const std::string& why) {
    return Error(label, "cannot decode image (" + why + ")");
}

bool starts_with(const std::vector<uint8_t>& b, const std::string& magic, size_t offset = 0) {
    return b.size() >= offset + magic.size() && std::memcmp(b.data() + offset, magic.data(), magic.size()) == 0;
}

// The format a file's signature names, or "" when it names none that OpenCV reads.
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
        const uint64_t length = (uint64_t{b[at]} << 24) | (uint64_t{b[at + 1]} << 16) | (uint64_t{b[at + 2]} << 8) | b[at + 3];
        if (std::memcmp(b.data() + at + 4, "IEND", 4) == 0) return false;
        if (length > b.size() - at - 12) return true;
        at += 12 + length;
    }
    return true;
}

}  // namespace

cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& label) {
    if (bytes.empty()) throw undecodable(label, "empty file");
    const std::string format = format_of(bytes);
    if (format.empty()) throw undecodable(label, "not a PNG, JPEG, WebP, BMP or TIFF file");
    if (format == "JPEG" && jpeg_truncated(bytes)) throw undecodable(label, "truncated JPEG data");
    if (format == "PNG" && png_truncated(bytes)) throw undecodable(label, "truncated PNG data");
    cv::Mat bgr;
    try {
        const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
        bgr = cv::imdecode(buf, cv::IMREAD_COLOR);  // 8-bit BGR, EXIF orientation applied
    } catch (const cv::Exception& e) {
        throw undecodable(label, e.err);
    }
    if (bgr.empty()) throw undecodable(label, "corrupt or truncated " + format + " data");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

cv::Mat load_image(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::string("cannot open image: ") + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw undecodable(path, "read failed");
    return decode_image(bytes, path);
}

}  // namespace ps
