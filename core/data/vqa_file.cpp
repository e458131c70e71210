#include "core/data/vqa_file.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/data/image.h"
#include "core/error.h"
#include "core/io/jsonl.h"

namespace ps {
namespace {

using nlohmann::json;

// References of a field: a string, a list of strings, or VQAv2's list of {"answer": string}.
std::vector<std::string> answer_list(const json& v, const char* key, const std::string& where) {
    if (v.is_string()) return {v.get<std::string>()};
    std::vector<std::string> out;
    if (v.is_array()) {
        for (const json& a : v) {
            if (a.is_string()) out.push_back(a.get<std::string>());
            else if (a.is_object() && a.contains("answer") && a["answer"].is_string()) out.push_back(a["answer"].get<std::string>());
            else throw Error(where, std::string("\"") + key + "\" must hold strings or {\"answer\": string} objects, got " + a.dump());
        }
        if (out.empty()) throw Error(where, std::string("\"") + key + "\" is empty");
        return out;
    }
    throw Error(where, std::string("\"") + key + "\" must be a string or a list, got " + v.dump());
}

// The references a line carries itself, if any.
std::optional<std::vector<std::string>> line_answers(const json& j, const std::string& where) {
    for (const char* key : {"answers", "answer", "label"})
        if (auto it = j.find(key); it != j.end()) return answer_list(*it, key, where);
    return std::nullopt;
}

json question_id_of(const json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end()) throw Error(where, std::string("missing \"") + key + "\"");
    if (!it->is_string() && !it->is_number_integer()) throw Error(where, std::string("\"") + key + "\" must be a string or an integer, got " + it->dump());
    return *it;
}

// "yes" / "no" for a yes/no reference ("Yes", "no." ...), else empty.
std::string yes_no_reference(const std::string& a) {
    std::string s = trimmed(a);
    if (!s.empty() && s.back() == '.') s.pop_back();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s == "yes" || s == "no" ? s : std::string();
}

// The letter of a choice reference ("B", "B.", "(B)"), else empty.
std::string letter_reference(const std::string& a) {
    std::string s = trimmed(a);
    if (s.size() == 3 && s[0] == '(' && s[2] == ')') s = s.substr(1, 1);
    if (s.size() == 2 && s[1] == '.') s.pop_back();
    return s.size() == 1 && s[0] >= 'A' && s[0] <= 'Z' ? s : std::string();
}

struct Line {
    std::string where;
    std::optional<VqaKind> kind;
};

}  // namespace

VqaSet load_vqa_file(const std::string& file, const VqaFileOptions& opt) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw Error(file, "no such question file");
    const std::string folder = !opt.image_folder.empty() ? opt.image_folder : fs::path(file).parent_path().string();
    if (!fs::is_directory(folder.empty() ? "." : folder, ec)) throw Error(folder, "no such image folder");

    // question_id -> references, from the annotation file.
    std::map<std::string, std::vector<std::string>> annotated;
    if (!opt.annotations.empty()) {
        if (!fs::is_regular_file(opt.annotations, ec)) throw Error(opt.annotations, "no such annotation file");
        for_each_jsonl_object(opt.annotations, [&](const json& j, const std::string& where) {
            const std::string id = question_id_of(j, "question_id", where).dump();
            const auto answers = line_answers(j, where);
            if (!answers) throw Error(where, "no \"answers\", \"answer\" or \"label\"");
            if (!annotated.emplace(id, *answers).second) throw Error(where, "question_id " + id + " is annotated twice");
        });
    }

    VqaSet set;
    set.name = file;
    std::vector<Line> lines;
    std::set<std::string> ids;
    for_each_jsonl_object(file, [&](const json& j, const std::string& where) {
        VqaItem item;
        Line line{where, std::nullopt};
        const bool llava = j.contains("text") && j.contains("question_id");
        item.question_id = llava ? question_id_of(j, "question_id", where)
                                 : j.contains("id") ? question_id_of(j, "id", where) : json(static_cast<int64_t>(lines.size()));
        if (!ids.insert(item.question_id.dump()).second) throw Error(where, "question id " + item.question_id.dump() + " repeats an earlier line's");
        item.image = image_in_folder(folder, jsonl_string(j, "image", where), where);
        item.question = jsonl_string(j, llava ? "text" : "question", where);
        if (trimmed(item.question).empty()) throw Error(where, "the question is empty");
        if (j.contains("category")) item.category = jsonl_string(j, "category", where);
        if (j.contains("kind")) {
            const std::string k = jsonl_string(j, "kind", where);
            line.kind = vqa_kind_from_name(k);
            if (!line.kind) throw Error(where, "unknown kind \"" + k + "\" (open, yes-no, choice)");
        }
        if (auto it = j.find("options"); it != j.end()) {
            if (!it->is_array() || it->size() < 2 || it->size() > 26)
                throw Error(where, "\"options\" must be a list of 2 to 26 strings");
            for (size_t k = 0; k < it->size(); ++k) {
                if (!(*it)[k].is_string()) throw Error(where, "\"options\" must hold strings, got " + (*it)[k].dump());
                item.options.push_back((*it)[k].get<std::string>());
                item.question += "\n" + std::string(1, static_cast<char>('A' + k)) + ". " + item.options.back();
            }
        } else {
            item.options = options_in_question(item.question);
        }
        if (auto answers = line_answers(j, where)) item.answers = std::move(*answers);
        else if (auto a = annotated.find(item.question_id.dump()); a != annotated.end()) item.answers = a->second;
        else if (opt.annotations.empty()) throw Error(where, "no \"answers\" (give them in the line or in an annotation file)");
        else throw Error(where, "question_id " + item.question_id.dump() + " has no line in " + opt.annotations);
        lines.push_back(line);
        set.items.push_back(std::move(item));
    });
    if (set.items.empty()) throw Error(file, "has no questions");

    // The kind: given, else the lines' own, else what the references look like.
    std::optional<VqaKind> kind = opt.kind;
    for (const Line& l : lines) {
        if (!l.kind || opt.kind) continue;
        if (kind && *kind != *l.kind)
            throw Error(l.where, std::string("kind \"") + vqa_kind_name(*l.kind) + "\" differs from the file's \"" + vqa_kind_name(*kind) + "\"; one kind per file");
        kind = l.kind;
    }
    if (!kind) {
        auto all = [&](auto pred) { return std::all_of(set.items.begin(), set.items.end(), pred); };
        if (all([](const VqaItem& i) { return i.answers.size() == 1 && !yes_no_reference(i.answers[0]).empty(); })) kind = VqaKind::YesNo;
        else if (all([](const VqaItem& i) { return !i.options.empty() && i.answers.size() == 1 && !letter_reference(i.answers[0]).empty(); }))
            kind = VqaKind::Choice;
        else kind = VqaKind::Open;
    }
    set.kind = *kind;
    for (size_t i = 0; i < set.items.size(); ++i) {
        VqaItem& item = set.items[i];
        const std::string& where = lines[i].where;
        if (set.kind == VqaKind::YesNo) {
            if (item.answers.size() != 1) throw Error(where, "a yes/no question takes one reference, got " + std::to_string(item.answers.size()));
            item.answers[0] = yes_no_reference(item.answers[0]);
            if (item.answers[0].empty()) throw Error(where, "the reference of a yes/no question must be yes or no");
        } else if (set.kind == VqaKind::Choice) {
            if (item.options.empty()) throw Error(where, "a multiple-choice question needs \"options\" or lines \"A. ...\", \"B. ...\" in its text");
            const std::string letter = item.answers.size() == 1 ? letter_reference(item.answers[0]) : std::string();
            if (letter.empty() || letter[0] - 'A' >= static_cast<int>(item.options.size()))
                throw Error(where, "the reference of a multiple-choice question must be one of its option letters A-" +
                                       std::string(1, static_cast<char>('A' + item.options.size() - 1)));
            item.answers = {letter};
        }
    }
    return set;
}

}  // namespace ps
