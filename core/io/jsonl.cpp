#include "core/io/jsonl.h"

#include "core/error.h"
#include "core/io/json_util.h"

namespace ps {
namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

}  // namespace

void for_each_jsonl_object(const std::string& file,
                           const std::function<void(const nlohmann::json& row, const std::string& where)>& row) {
    std::string text = read_text_file(file);
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // a UTF-8 byte-order mark
    size_t line_no = 0;
    for (size_t begin = 0; begin < text.size();) {
        size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(begin, end - begin);
        begin = end + 1;
        ++line_no;
        if (blank(line)) continue;
        const std::string where = file + ":" + std::to_string(line_no);
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            // the line is the whole document: drop nlohmann's "line 1, " and keep the column
            std::string why = json_error_text(e);
            if (const size_t p = why.find("at line 1, column "); p != std::string::npos) why.erase(p + 3, 8);
            throw Error(where, "not valid JSON (" + why + ")");
        }
        if (!j.is_object()) throw Error(where, "expected a JSON object, got " + std::string(j.type_name()));
        row(j, where);
    }
}

std::string jsonl_string(const nlohmann::json& row, const char* key, const std::string& where) {
    auto it = row.find(key);
    if (it == row.end()) throw Error(where, std::string("missing \"") + key + "\"");
    if (!it->is_string()) throw Error(where, std::string("\"") + key + "\" must be a string, got " + it->dump());
    return it->get<std::string>();
}

}  // namespace ps
