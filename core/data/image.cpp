#include "core/data/image.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/image_header.h"
#include "core/error.h"

namespace ps {
namespace {

Error undecodable(const std::string& label, const std::string& why) {
    return Error(label, "cannot decode image (" + why + ")");
}

}  // namespace

cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& label) {
    if (bytes.empty()) throw undecodable(label, "empty file");
    const ImageHeader header = read_image_header(bytes);
    const std::string& format = header.format;
    if (format.empty()) throw undecodable(label, "not a PNG, JPEG, WebP, BMP or TIFF file");
    if (header.truncated) throw undecodable(label, "truncated " + format + " data");
    if (header.width > kMaxImagePixels || header.height > kMaxImagePixels ||
        header.width * header.height > kMaxImagePixels)
        throw undecodable(label, format + " header declares " + std::to_string(header.width) + " x " +
                                     std::to_string(header.height) + " pixels, more than the " +
                                     std::to_string(kMaxImagePixels) + " decoded");
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

std::string image_in_folder(const std::string& folder, const std::string& rel, const std::string& where) {
    namespace fs = std::filesystem;
    if (rel.empty()) throw Error(where, "\"image\" is empty");
    const fs::path rel_path(rel);
    if (rel_path.is_absolute())
        throw Error(where, "image '" + rel + "' is an absolute path; paths must be relative to the folder");
    for (const fs::path& part : rel_path)
        if (part == "..") throw Error(where, "image '" + rel + "' leaves the folder (\"..\" is refused)");
    const fs::path path = (fs::path(folder) / rel_path).lexically_normal();
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(where, "image '" + rel + "' not found");
    if (!fs::is_regular_file(path, ec)) throw Error(where, "image '" + rel + "' is not a file");
    return path.string();
}

}  // namespace ps
