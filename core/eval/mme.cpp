#include "core/eval/mme.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace ps {

std::string mme_answer(const std::string& answer) {
    std::string lower = answer;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "yes" || lower == "no") return lower;
    const std::string prefix = lower.substr(0, 4);
    if (prefix.find("yes") != std::string::npos) return "yes";
    if (prefix.find("no") != std::string::npos) return "no";
    return "other";
}

nlohmann::json MmeScore::to_json() const { return {{"acc", acc}, {"acc_plus", acc_plus}, {"score", score()}}; }

MmeScore mme_score(const std::vector<MmeQuestion>& questions) {
    MmeScore s;
    if (questions.empty()) return s;
    std::map<std::string, bool> all_right;  // per image
    size_t right = 0;
    for (const MmeQuestion& q : questions) {
        right += q.right;
        auto [it, fresh] = all_right.emplace(q.image, q.right);
        if (!fresh) it->second = it->second && q.right;
    }
    const auto images_right = std::count_if(all_right.begin(), all_right.end(), [](const auto& p) { return p.second; });
    s.acc = 100.0 * static_cast<double>(right) / static_cast<double>(questions.size());
    s.acc_plus = 100.0 * static_cast<double>(images_right) / static_cast<double>(all_right.size());
    return s;
}

}  // namespace ps
