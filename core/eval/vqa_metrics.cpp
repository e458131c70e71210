#include "core/eval/vqa_metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/eval/mme.h"
#include "core/eval/pope.h"
#include "core/eval/vqa_accuracy.h"

namespace ps {
namespace {

bool is_option_letter(char c, size_t options) { return c >= 'A' && c < static_cast<char>('A' + options); }

// Rates as percentages.
double pct(double x) { return 100.0 * x; }

}  // namespace

std::string choice_letter(const std::string& answer, const std::vector<std::string>& options) {
    const std::string a = trimmed(answer);
    const size_t n = options.size();
    // "B", "B.", "B)", "B: ...", "(B)", "(B) ..."
    if (a.size() >= 3 && a[0] == '(' && a[2] == ')' && is_option_letter(a[1], n)) return a.substr(1, 1);
    if (!a.empty() && is_option_letter(a[0], n) && (a.size() == 1 || a[1] == '.' || a[1] == ')' || a[1] == ':'))
        return a.substr(0, 1);
    for (const std::string cue : {"answer is ", "Answer is ", "Answer: ", "answer: "}) {
        const size_t p = a.find(cue);
        if (p == std::string::npos) continue;
        std::string rest = a.substr(p + cue.size());
        if (!rest.empty() && rest[0] == '(') rest.erase(0, 1);
        if (!rest.empty() && is_option_letter(rest[0], n) && (rest.size() == 1 || !std::isalpha(static_cast<unsigned char>(rest[1]))))
            return rest.substr(0, 1);
    }
    const std::string norm = vqa_normalize_answer(a);
    for (size_t k = 0; k < n; ++k)
        if (!norm.empty() && norm == vqa_normalize_answer(options[k])) return std::string(1, static_cast<char>('A' + k));
    return {};
}

int64_t likeliest_option(const std::vector<double>& logprobs) {
    int64_t best = -1;
    for (size_t k = 0; k < logprobs.size(); ++k)
        if (best < 0 || logprobs[k] > logprobs[static_cast<size_t>(best)]) best = static_cast<int64_t>(k);
    return best;
}

EvalResult vqa_metrics(const VqaSet& set, std::vector<VqaRecord>& records) {
    if (records.size() != set.items.size())
        throw Error("vqa metrics", std::to_string(records.size()) + " records for " + std::to_string(set.items.size()) + " questions");
    EvalResult r;
    r.task = vqa_kind_name(set.kind);
    const size_t n = records.size();
    const bool generated = n > 0 && std::all_of(records.begin(), records.end(), [](const VqaRecord& x) { return x.generated; });
    auto& m = r.metrics;

    if (set.kind == VqaKind::Open && generated) {
        const bool ten = std::all_of(set.items.begin(), set.items.end(), [](const VqaItem& i) { return i.answers.size() == 10; });
        double exact = 0, vqa = 0;
        for (size_t i = 0; i < n; ++i) {
            const auto& refs = set.items[i].answers;
            const bool match = std::any_of(refs.begin(), refs.end(), [&](const std::string& ref) { return vqa_exact_match(records[i].answer, ref); });
            exact += match;
            const double acc = ten ? vqa_accuracy(records[i].answer, refs) : 0.0;
            vqa += acc;
            records[i].score = ten ? acc : match;
        }
        if (ten) m.push_back({"vqa_accuracy", pct(vqa / n)});
        m.push_back({"exact_match", pct(exact / n)});
    }

    if (set.kind == VqaKind::YesNo && generated) {
        std::vector<bool> said(n), truth(n);
        for (size_t i = 0; i < n; ++i) {
            said[i] = pope_says_yes(records[i].answer);
            truth[i] = set.items[i].answers.at(0) == "yes";
            records[i].score = said[i] == truth[i];
        }
        // The items of a category: its own, and those without one (shared by every category).
        const std::vector<std::string> categories = set.categories();
        auto members = [&](const std::string& c) {
            std::vector<size_t> idx;
            for (size_t i = 0; i < n; ++i)
                if (c.empty() || set.items[i].category.empty() || set.items[i].category == c) idx.push_back(i);
            return idx;
        };
        auto pope = [&](const std::vector<size_t>& idx) {
            std::vector<bool> s, t;
            for (size_t i : idx) s.push_back(said[i]), t.push_back(truth[i]);
            return yes_no_metrics(s, t);
        };
        // MME: questions of one image in pairs; acc+ needs both right.
        auto mme = [&](const std::vector<size_t>& idx) -> std::optional<MmeScore> {
            std::map<std::string, int> per_image;
            std::vector<MmeQuestion> qs;
            for (size_t i : idx) {
                const VqaItem& item = set.items[i];
                const std::string image = item.image.empty() ? std::to_string(item.image_index) : item.image;
                ++per_image[image];
                qs.push_back({image, mme_answer(records[i].answer) == item.answers[0]});
            }
            for (const auto& [image, count] : per_image)
                if (count != 2) return std::nullopt;
            return mme_score(qs);
        };
        const std::vector<std::string> groups = categories.empty() ? std::vector<std::string>{""} : categories;
        std::vector<YesNoMetrics> per;
        std::vector<std::optional<MmeScore>> mmes;
        for (const std::string& c : groups) {
            per.push_back(pope(members(c)));
            mmes.push_back(mme(members(c)));
        }
        auto mean = [&](double YesNoMetrics::*field) {
            double s = 0;
            for (const auto& p : per) s += p.*field;
            return s / static_cast<double>(per.size());
        };
        m.push_back({"f1", pct(mean(&YesNoMetrics::f1))});
        m.push_back({"accuracy", pct(mean(&YesNoMetrics::accuracy))});
        m.push_back({"precision", pct(mean(&YesNoMetrics::precision))});
        m.push_back({"recall", pct(mean(&YesNoMetrics::recall))});
        m.push_back({"yes_ratio", mean(&YesNoMetrics::yes_ratio)});
        const bool paired = std::all_of(mmes.begin(), mmes.end(), [](const auto& s) { return s.has_value(); });
        if (paired) {
            double acc = 0, plus = 0;
            for (const auto& s : mmes) acc += s->acc, plus += s->acc_plus;
            m.push_back({"mme_acc", acc / static_cast<double>(mmes.size())});
            m.push_back({"mme_acc_plus", plus / static_cast<double>(mmes.size())});
            m.push_back({"mme_score", acc + plus});
        }
        if (!categories.empty())
            for (size_t k = 0; k < groups.size(); ++k) {
                const std::string& c = groups[k];
                m.push_back({c + "/f1", pct(per[k].f1)});
                m.push_back({c + "/accuracy", pct(per[k].accuracy)});
                m.push_back({c + "/precision", pct(per[k].precision)});
                m.push_back({c + "/recall", pct(per[k].recall)});
                m.push_back({c + "/yes_ratio", per[k].yes_ratio});
                if (paired) {
                    m.push_back({c + "/mme_acc", mmes[k]->acc});
                    m.push_back({c + "/mme_acc_plus", mmes[k]->acc_plus});
                }
            }
    }

    if (set.kind == VqaKind::Choice) {
        const bool likelihood = n > 0 && std::all_of(records.begin(), records.end(), [&](const VqaRecord& x) { return !x.option_logprob.empty(); });
        double by_letter = 0, by_likelihood = 0;
        for (size_t i = 0; i < n; ++i) {
            const VqaItem& item = set.items[i];
            const bool letter_right = generated && choice_letter(records[i].answer, item.options) == item.answers.at(0);
            const int64_t best = likelihood ? likeliest_option(records[i].option_logprob) : -1;
            const bool likely_right = best >= 0 && std::string(1, static_cast<char>('A' + best)) == item.answers.at(0);
            by_letter += letter_right;
            by_likelihood += likely_right;
            records[i].score = generated ? letter_right : likelihood ? static_cast<double>(likely_right) : records[i].score;
        }
        if (generated) m.push_back({"letter_accuracy", pct(by_letter / n)});
        if (likelihood) m.push_back({"likelihood_accuracy", pct(by_likelihood / n)});
    }

    double nll = 0, kl = 0;
    int64_t tokens = 0;
    bool has_nll = n > 0, has_kl = n > 0;
    for (const VqaRecord& x : records) {
        has_nll = has_nll && !std::isnan(x.nll);
        has_kl = has_kl && !std::isnan(x.kl);
        nll += x.nll;
        kl += x.kl;
        tokens += x.answer_tokens;
    }
    if (has_nll && tokens > 0) m.push_back({"answer_nll", nll / static_cast<double>(tokens)});
    if (has_kl && tokens > 0) m.push_back({"answer_kl", kl / static_cast<double>(tokens)});
    m.push_back({"questions", static_cast<double>(n)});
    return r;
}

}  // namespace ps
