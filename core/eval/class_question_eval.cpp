#include "core/eval/class_question_eval.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"

namespace ps {

nlohmann::json QuestionEvalResult::to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : examples)
        list.push_back({{"question", e.question}, {"reference", e.answer}, {"generated", e.generated}, {"right", e.right}});
    nlohmann::json j = {{"kind", question_kind_name(kind)}, {"images", n}, {"right", right}, {"accuracy", 100.0 * accuracy},
                        {"examples", list}};
    if (kind == QuestionKind::YesNo) {
        j["balanced_accuracy"] = 100.0 * balanced_accuracy;
        j["yes_ratio"] = yes_ratio;
    }
    return j;
}

std::string QuestionEvalResult::to_text() const {
    char line[200];
    std::snprintf(line, sizeof line, "%s questions: accuracy %.2f%%", question_kind_name(kind), 100.0 * accuracy);
    std::string out = line;
    if (kind == QuestionKind::YesNo) {
        std::snprintf(line, sizeof line, ", balanced accuracy %.2f%%, yes ratio %.3f", 100.0 * balanced_accuracy, yes_ratio);
        out += line;
    }
    std::snprintf(line, sizeof line, " (%lld images)\n", static_cast<long long>(n));
    return out + line;
}

QuestionEvalResult evaluate_class_questions(const Vlm& model, const LabelledImages& set, const QuestionEvalOptions& opt,
                                            const JobControl& job) {
    const auto* causal = dynamic_cast<const CausalVlm*>(&model);
    if (!causal) throw Error("evaluate", "the model does not generate text");
    const Processor processor(model);
    const Tokenizer& tok = processor.tokenizer();
    const int64_t total = opt.limit < 0 ? set.images.size(0) : std::min<int64_t>(opt.limit, set.images.size(0));
    const int max_new = opt.kind == QuestionKind::Caption ? 16 : opt.kind == QuestionKind::Open ? 8 : 3;
    const std::string stage = std::string("answering ") + question_kind_name(opt.kind) + " questions";

    QuestionEvalResult r;
    r.kind = opt.kind;
    int64_t yes_right = 0, yes_n = 0, no_right = 0, no_n = 0, said_yes = 0;
    std::mt19937_64 rng(opt.seed);
    for (int64_t begin = 0; begin < total; begin += opt.batch_size) {
        const int64_t end = std::min(total, begin + opt.batch_size);
        std::vector<ClassQuestion> qs;
        std::vector<std::vector<int64_t>> ids;
        for (int64_t i = begin; i < end; ++i) {
            // Phrasing 0 for open and caption questions; yes/no alternates the true and a wrong class.
            const int phrasing = opt.kind == QuestionKind::YesNo ? static_cast<int>(i % 2) : 0;
            qs.push_back(class_question(opt.kind, set.labels[i].item<int64_t>(), set.classes, rng, phrasing));
            ids.push_back(processor.chat_ids(qs.back().question, true));
        }
        const int64_t b = end - begin;
        VlmInputs in = processor.batch(ids, /*pad_left=*/true);
        in.pixel_values = preprocess_gray_batch(set.images.slice(0, begin, end), processor.image_config());
        const auto answers = causal->generate_batch(in, max_new, tok.eos_id());
        for (int64_t k = 0; k < b; ++k) {
            const std::string generated = tok.decode(answers[k]);
            const bool right = answer_is_right(qs[k], generated, set.classes);
            r.right += right;
            if (opt.kind == QuestionKind::YesNo) {
                const auto words = answer_words(generated);
                said_yes += !words.empty() && words[0] == "yes";
                (qs[k].yes ? yes_n : no_n) += 1;
                (qs[k].yes ? yes_right : no_right) += right;
            }
            if (static_cast<int64_t>(r.examples.size()) < opt.examples)
                r.examples.push_back({qs[k].question, qs[k].answer, generated, right});
        }
        r.n += b;
        job.report(stage, r.n, total);
    }
    r.accuracy = r.n ? static_cast<double>(r.right) / static_cast<double>(r.n) : 0.0;
    r.balanced_accuracy = r.accuracy;
    if (opt.kind == QuestionKind::YesNo && r.n) {
        r.yes_ratio = static_cast<double>(said_yes) / static_cast<double>(r.n);
        // With one of the two answers never asked, the mean of the recalls there are.
        const double yes_recall = yes_n ? static_cast<double>(yes_right) / yes_n : -1, no_recall = no_n ? static_cast<double>(no_right) / no_n : -1;
        r.balanced_accuracy = yes_n && no_n ? 0.5 * (yes_recall + no_recall) : std::max(yes_recall, no_recall);
    }
    return r;
}

}  // namespace ps
