#include "core/data/caption_folder.h"

#include <filesystem>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/json_util.h"

namespace ps {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

// The string value of `key`, or an error naming the line when it is absent or not a string.
std::string string_field(const json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end()) throw Error(where, std::string("missing \"") + key + "\"");
    if (!it->is_string()) throw Error(where, std::string("\"") + key + "\" must be a string, got " + it->dump());
    return it->get<std::string>();
}

}  // namespace

CaptionDataset load_caption_folder(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(dir, "no such folder");
    const fs::path root(dir);
    const std::string file = (root / "captions.jsonl").string();
    if (!fs::is_regular_file(file, ec)) throw Error(dir, "no captions.jsonl");
    std::string text = read_text_file(file);
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // a UTF-8 byte-order mark

    CaptionDataset out;
    out.dir = dir;
    std::unordered_map<std::string, int64_t> label_ids;
    size_t line_no = 0;
    for (size_t begin = 0; begin < text.size();) {
        size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(begin, end - begin);
        begin = end + 1;
        ++line_no;
        if (blank(line)) continue;
        const std::string where = file + ":" + std::to_string(line_no);

        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {
            // the line is the whole document: drop nlohmann's "line 1, " and keep the column
            std::string why = json_error_text(e);
            if (const size_t p = why.find("at line 1, column "); p != std::string::npos) why.erase(p + 3, 8);
            throw Error(where, "not valid JSON (" + why + ")");
        }
        if (!j.is_object()) throw Error(where, "expected a JSON object, got " + std::string(j.type_name()));
        CaptionedImage item;
        const std::string rel = string_field(j, "image", where);
        item.caption = string_field(j, "caption", where);
        if (auto it = j.find("label"); it != j.end() && !it->is_null()) {
            if (!it->is_string()) throw Error(where, "\"label\" must be a string, got " + it->dump());
            item.label = it->get<std::string>();
        }

        if (rel.empty()) throw Error(where, "\"image\" is empty");
        const fs::path rel_path(rel);
        if (rel_path.is_absolute())
            throw Error(where, "image '" + rel + "' is an absolute path; paths must be relative to the folder");
        for (const fs::path& part : rel_path)
            if (part == "..") throw Error(where, "image '" + rel + "' leaves the folder (\"..\" is refused)");
        const fs::path path = (root / rel_path).lexically_normal();
        if (!fs::exists(path, ec)) throw Error(where, "image '" + rel + "' not found");
        if (!fs::is_regular_file(path, ec)) throw Error(where, "image '" + rel + "' is not a file");
        item.image = path.string();

        int64_t index = -1;
        if (!item.label.empty()) {
            const auto [it, added] = label_ids.emplace(item.label, static_cast<int64_t>(out.labels.size()));
            if (added) out.labels.push_back(item.label);
            index = it->second;
        }
        out.label_index.push_back(index);
        out.items.push_back(std::move(item));
    }
    if (out.items.empty()) throw Error(file, "has no images");
    return out;
}

}  // namespace ps
