#include "core/data/llava_conversations.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/error.h"
#include "core/io/json_util.h"
#include "core/io/jsonl.h"

namespace ps {
namespace {

constexpr char kImage[] = "<image>";

// The question without LLaVA's image placeholder and the line break beside it ("<image>\nQ" or "Q\n<image>").
std::string without_placeholder(std::string q) {
    const size_t at = q.find(kImage);
    if (at == std::string::npos) return q;
    size_t begin = at, end = at + sizeof kImage - 1;
    if (end < q.size() && q[end] == '\n') ++end;
    else if (begin > 0 && q[begin - 1] == '\n') --begin;
    q.erase(begin, end - begin);
    return q;
}

}  // namespace

std::vector<Conversation> load_llava_conversations(const std::string& file, const std::string& image_folder) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw Error(file, "no such conversation file");
    const std::string folder = !image_folder.empty() ? image_folder : fs::path(file).parent_path().string();
    const nlohmann::json j = read_json_file(file);
    if (!j.is_array()) throw Error(file, "expected a JSON list of conversations, got " + std::string(j.type_name()));
    std::vector<Conversation> out;
    for (size_t r = 0; r < j.size(); ++r) {
        const nlohmann::json& rec = j[r];
        std::string where = file + ": record " + std::to_string(r);
        if (!rec.is_object()) throw Error(where, "expected a JSON object, got " + std::string(rec.type_name()));
        Conversation c;
        if (auto it = rec.find("id"); it != rec.end()) {
            c.id = it->is_string() ? it->get<std::string>() : it->dump();
            where += " (id " + c.id + ")";
        }
        auto turns = rec.find("conversations");
        if (turns == rec.end() || !turns->is_array() || turns->empty())
            throw Error(where, "\"conversations\" must be a non-empty list");
        if (turns->size() % 2 != 0) throw Error(where, "\"conversations\" must alternate human and gpt turns, ending with gpt");
        bool placeholder = false;
        for (size_t t = 0; t < turns->size(); t += 2) {
            const nlohmann::json& h = (*turns)[t];
            const nlohmann::json& g = (*turns)[t + 1];
            const std::string turn = where + ", turn " + std::to_string(t);
            if (!h.is_object() || !g.is_object()) throw Error(turn, "each turn must be an object {\"from\", \"value\"}");
            if (jsonl_string(h, "from", turn) != "human" || jsonl_string(g, "from", turn) != "gpt")
                throw Error(turn, "turns must alternate \"from\": \"human\" and \"gpt\", starting with human");
            std::string question = jsonl_string(h, "value", turn);
            if (question.find(kImage) != std::string::npos) {
                if (t != 0 || placeholder) throw Error(turn, "\"<image>\" may stand once, in the first question");
                placeholder = true;
                question = without_placeholder(question);
            }
            c.turns.push_back({question, jsonl_string(g, "value", turn)});
        }
        if (rec.contains("image")) {
            if (!placeholder) throw Error(where, "has an image but no \"<image>\" in its first question");
            c.image = image_in_folder(folder, jsonl_string(rec, "image", where), where);
        } else if (placeholder) {
            throw Error(where, "asks about \"<image>\" but has no \"image\"");
        }
        out.push_back(std::move(c));
    }
    if (out.empty()) throw Error(file, "has no conversations");
    return out;
}

}  // namespace ps
