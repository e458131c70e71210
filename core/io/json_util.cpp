#include "core/io/json_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace ps {

std::string json_error_text(const nlohmann::json::exception& e) {
    // nlohmann prefixes messages with "[json.exception.parse_error.101] "; keep the readable part.
    std::string m = e.what();
    size_t p = m.find("] ");
    return p == std::string::npos ? m : m.substr(p + 2);
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, "not valid JSON (" + json_error_text(e) + ")");
    }
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(path, "read failed");
    return ss.str();
}

nlohmann::json read_json_file(const std::string& path) { return parse_json(read_text_file(path), path); }

}  // namespace ps
