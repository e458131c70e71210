// The Plan's "evaluation" section: what one number scores a run by, wherever a front end shows one
// — a sweep's points, curves, Pareto fronts and sensitivity table. A dual encoder is scored by
// zero-shot top-1; a generative model by a question task of core/eval/vqa_eval.h on the built-in
// Fashion-MNIST questions and one of its metrics (core/eval/vqa_metrics.h).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct EvaluationOptions {
    std::string task;    // "zero-shot", "open", "yes-no", "choice"; empty: by the model's kind (zero-shot / open)
    std::string metric;  // e.g. "exact_match", "f1", "random/f1", "letter_accuracy", "answer_nll"; empty: the task's headline

    // Reads the section `f`; throws ps::Error naming the field for an unknown task.
    static EvaluationOptions read(const JsonFields& f);
    nlohmann::json to_json() const;
    // Throws ps::Error naming "evaluation.metric" for answer_kl: a single model scored alone has no
    // dense model beside it.
    void check_metric() const;
    // The task for a model of this kind: `task`, or the kind's default. Throws ps::Error naming
    // "evaluation.task" for a task the kind has not, and as check_metric() does.
    std::string task_for(bool generative) const;

    // The metrics a task is usually scored by, headline first, for a front end to offer (per-category
    // metrics such as "random/f1" exist only for files that have categories; the built-in yes/no set has).
    static std::vector<std::string> metrics_of(const std::string& task);
};

// Whether a smaller value of the metric is better: the losses answer_nll and answer_kl (in nats).
bool metric_lower_is_better(const std::string& metric);

}  // namespace ps
