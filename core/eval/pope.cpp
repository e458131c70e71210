#include "core/eval/pope.h"

#include "core/error.h"

namespace ps {

bool pope_says_yes(const std::string& answer) {
    std::string text = answer.substr(0, answer.find('.'));
    std::string kept;
    for (char c : text)
        if (c != ',') kept += c;
    size_t start = 0;
    while (true) {
        const size_t end = kept.find(' ', start);
        const std::string word = kept.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (word == "No" || word == "no" || word == "not") return false;
        if (end == std::string::npos) return true;
        start = end + 1;
    }
}

nlohmann::json YesNoMetrics::to_json() const {
    return {{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}, {"accuracy", 100.0 * accuracy}, {"precision", 100.0 * precision},
            {"recall", 100.0 * recall}, {"f1", 100.0 * f1}, {"yes_ratio", yes_ratio}};
}

YesNoMetrics yes_no_metrics(const std::vector<bool>& said_yes, const std::vector<bool>& truth) {
    if (said_yes.size() != truth.size()) throw Error("yes/no metrics", "answers and references differ in number");
    YesNoMetrics m;
    for (size_t i = 0; i < truth.size(); ++i) {
        if (said_yes[i]) (truth[i] ? m.tp : m.fp) += 1;
        else (truth[i] ? m.fn : m.tn) += 1;
    }
    const auto ratio = [](int64_t a, int64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
    const int64_t n = static_cast<int64_t>(truth.size());
    m.accuracy = ratio(m.tp + m.tn, n);
    m.precision = ratio(m.tp, m.tp + m.fp);
    m.recall = ratio(m.tp, m.tp + m.fn);
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    m.yes_ratio = ratio(m.tp + m.fp, n);
    return m;
}

}  // namespace ps
