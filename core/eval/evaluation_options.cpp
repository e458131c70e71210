#include "core/eval/evaluation_options.h"

#include "core/data/vqa_set.h"
#include "core/error.h"
#include "core/io/json_fields.h"

namespace ps {

EvaluationOptions EvaluationOptions::read(const JsonFields& f) {
    f.only({"task", "metric"});
    EvaluationOptions o;
    o.task = f.text("task", o.task);
    o.metric = f.text("metric", o.metric);
    if (!o.task.empty() && o.task != "zero-shot" && !vqa_kind_from_name(o.task))
        f.fail("\"" + o.task + "\" is not a task (zero-shot, open, yes-no, choice)", "task");
    return o;
}

nlohmann::json EvaluationOptions::to_json() const { return {{"task", task}, {"metric", metric}}; }

void EvaluationOptions::check_metric() const {
    if (metric == "answer_kl") throw Error("evaluation.metric", "answer_kl needs the dense model beside the pruned one; score by answer_nll");
}

std::string EvaluationOptions::task_for(bool generative) const {
    const std::string t = task.empty() ? (generative ? "open" : "zero-shot") : task;
    if (generative && !vqa_kind_from_name(t))
        throw Error("evaluation.task", "\"" + t + "\" is not a task of generative models (open, yes-no, choice)");
    if (!generative && t != "zero-shot") throw Error("evaluation.task", "\"" + t + "\" is not a task of dual encoders (zero-shot)");
    check_metric();
    return t;
}

bool metric_lower_is_better(const std::string& metric) { return metric == "answer_nll" || metric == "answer_kl"; }

std::vector<std::string> EvaluationOptions::metrics_of(const std::string& task) {
    if (task == "zero-shot") return {"top1"};
    if (task == "open") return {"exact_match", "vqa_accuracy", "answer_nll"};
    if (task == "yes-no")
        return {"f1", "accuracy", "precision", "recall", "yes_ratio", "random/f1", "popular/f1", "adversarial/f1", "mme_score", "answer_nll"};
    if (task == "choice") return {"letter_accuracy", "likelihood_accuracy", "answer_nll"};
    return {};
}

}  // namespace ps
