#include "core/data/vqa_set.h"

#include <algorithm>

namespace ps {

const char* vqa_kind_name(VqaKind k) {
    switch (k) {
        case VqaKind::Open: return "open";
        case VqaKind::YesNo: return "yes-no";
        case VqaKind::Choice: return "choice";
    }
    return "?";
}

std::optional<VqaKind> vqa_kind_from_name(const std::string& name) {
    for (VqaKind k : {VqaKind::Open, VqaKind::YesNo, VqaKind::Choice})
        if (name == vqa_kind_name(k)) return k;
    return std::nullopt;
}

std::vector<std::string> VqaSet::categories() const {
    std::vector<std::string> out;
    for (const VqaItem& item : items)
        if (!item.category.empty() && std::find(out.begin(), out.end(), item.category) == out.end()) out.push_back(item.category);
    return out;
}

std::string trimmed(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> options_in_question(const std::string& question) {
    std::vector<std::string> options;
    for (size_t begin = 0; begin <= question.size();) {
        size_t end = question.find('\n', begin);
        if (end == std::string::npos) end = question.size();
        const std::string line = question.substr(begin, end - begin);
        begin = end + 1;
        const char letter = static_cast<char>('A' + options.size());
        if (options.size() < 26 && line.size() >= 3 && line[0] == letter && line[1] == '.' && line[2] == ' ')
            options.push_back(line.substr(3));
    }
    if (options.size() < 2) options.clear();
    return options;
}

}  // namespace ps
