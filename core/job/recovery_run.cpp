#include "core/job/recovery_run.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <ATen/core/grad_mode.h>

#include "core/data/fashion_mnist.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/data/prompts.h"
#include "core/dist/process_group.h"
#include "core/error.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/zero_shot.h"
#include "core/prune/calibration.h"
#include "core/model/processor.h"
#include "core/prune/mask.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/runtime.h"

namespace ps {

nlohmann::json RecoveryReport::to_json() const {
    nlohmann::json acc = nlohmann::json::object();
    auto put = [&](const char* key, const std::optional<double>& v) {
        if (v) acc[key] = *v;
    };
    put("dense", top1_dense);
    put("pruned", top1_pruned);
    put("recovered", top1_recovered);
    put("repruned", top1_repruned);
    const auto sparsity = [&](int64_t nnz) { return numel > 0 ? 1.0 - static_cast<double>(nnz) / static_cast<double>(numel) : 0.0; };
    nlohmann::json j = {{"recovery", training.to_json()},
            {"masked_linears", {{"numel", numel}, {"nnz_pruned", nnz_pruned}, {"nnz_merged", nnz_merged},
                                {"sparsity_pruned", sparsity(nnz_pruned)}, {"sparsity_merged", sparsity(nnz_merged)},
                                {"nonzero_in_mask", nonzero_in_mask}}},
            {"memory", {{"weights_bytes", weights_bytes}, {"peak_growth_bytes", peak_growth_bytes}}}};
    if (task == "zero-shot") {
        j["zero_shot_top1"] = acc;
    } else {
        acc["task"] = task;
        acc["metric"] = metric;
        j["task_metric"] = acc;
    }
    return j;
}

std::string RecoveryReport::to_text() const {
    std::ostringstream o;
    char line[256];
    std::snprintf(line, sizeof line, "recovery %s: %lld trainable parameters, %lld examples, steps %lld-%lld of %lld, %.1f s\n",
                  training.mode.c_str(), static_cast<long long>(training.trainable_params), static_cast<long long>(training.examples),
                  static_cast<long long>(training.first_step), static_cast<long long>(training.steps),
                  static_cast<long long>(training.total_steps), training.seconds);
    o << line;
    auto acc = [&](const char* what, const std::optional<double>& v) {
        if (!v) return;
        std::snprintf(line, sizeof line, "  %s %s %-10s %.4f\n", task.c_str(), metric.c_str(), what, *v);
        o << line;
    };
    acc("dense", top1_dense);
    acc("pruned", top1_pruned);
    acc("recovered", top1_recovered);
    acc("re-pruned", top1_repruned);
    const auto pct = [&](int64_t nnz) { return numel > 0 ? 100.0 * (1.0 - static_cast<double>(nnz) / static_cast<double>(numel)) : 0.0; };
    std::snprintf(line, sizeof line, "  masked Linears: sparsity %.2f %% pruned, %.2f %% exported (%lld nonzeros where the mask prunes)\n",
                  pct(nnz_pruned), pct(nnz_merged), static_cast<long long>(nonzero_in_mask));
    o << line;
    std::snprintf(line, sizeof line, "  memory: weights %.1f MiB, peak growth during training %.1f MiB\n",
                  static_cast<double>(weights_bytes) / (1 << 20), static_cast<double>(peak_growth_bytes) / (1 << 20));
    o << line;
    return o.str();
}

RecoveryReport run_recovery(Vlm& model, PrunedLinears pruned, const Plan& plan, const std::string& out_dir,
                            const std::string& state_path, const JobControl& job, const RecoveryStepFn& on_step,
                            ProcessGroup* group) {
    if (std::filesystem::exists(out_dir)) throw Error(out_dir, "already exists; choose a new output folder");
    if (model.weights().streaming()) throw Error(plan.model, "recovery trains a resident model; open it without streaming");
    RecoveryReport report;
    for (const std::string& name : model.weights().checkpoint().names())
        report.weights_bytes += static_cast<int64_t>(model.weights().get(name).nbytes());

    const RecoveryOptions& r = plan.recovery;
    Student student(model, std::move(pruned), student_options(r, plan.seed));
    const RecoveryData data(model, r, plan.calibration, plan.seed);
    RecoveryTrainer trainer(model, student, data, r, plan.seed, group);
    const bool lead = !group || group->rank() == 0;

    // Zero-shot accuracy on held-out test images, for dual encoders on Fashion-MNIST; the Plan's
    // evaluation task on questions about test images, for a generative model that can be asked.
    std::optional<EvalSet> eval;
    std::optional<VqaSet> questions;
    if (lead && model.capabilities().kind == ModelKind::DualEncoder && plan.calibration.data == "fashion-mnist") {
        const Processor processor(model);
        eval = labelled_eval_set("fashion-mnist test", load_fashion_mnist(fashion_mnist_dir(), "test"), processor.image_config(),
                                 zero_shot_templates(), r.eval_samples, plan.seed);
    } else if (lead && model.capabilities().generative() && prompts_unavailable(model).empty()) {
        report.task = plan.evaluation.task_for(true);
        report.metric = plan.evaluation.metric;
        questions = fashion_mnist_vqa(load_fashion_mnist(fashion_mnist_dir(), "test"), *vqa_kind_from_name(report.task), r.eval_samples);
    }
    auto top1 = [&](const Student* s) -> std::optional<double> {
        if (!eval && !questions) return std::nullopt;
        std::optional<StudentScope> scope;
        if (s) scope.emplace(model, *s);
        if (eval) return zero_shot(model, *eval, EvalOptions{}, job).value();
        const EvalResult e = evaluate_vqa(model, *questions, VqaEvalOptions{}, job).metrics;
        if (report.metric.empty()) report.metric = e.metrics.front().first;
        return e.metric(report.metric);
    };
    report.top1_dense = top1(nullptr);
    report.top1_pruned = top1(&student);

    const int64_t before = resident_bytes();
    reset_peak_resident();
    report.training = trainer.run(state_path, eval ? &*eval : nullptr, job, on_step);
    report.peak_growth_bytes = std::max<int64_t>(0, peak_resident_bytes() - before);
    report.top1_recovered = top1(&student);
    if (!lead) return report;

    // The merged weights, and for plain LoRA the merge pruned again with the mask.
    WeightStore& w = model.weights();
    std::map<std::string, at::Tensor> merged;
    {
        at::NoGradGuard no_grad;
        for (const std::string& linear : student.linears()) merged[linear] = student.merged(linear, w.get(linear + ".weight"));
        if (student.mode() == RecoveryMode::Lora && (eval || questions)) {
            for (const std::string& linear : student.linears()) w.set(linear + ".weight", student.merged(linear, w.get(linear + ".weight"), true));
            report.top1_repruned = top1(nullptr);
            for (const std::string& linear : student.linears()) w.unset(linear + ".weight");
        }
    }
    PrunedCheckpointWriter out(w.checkpoint(), plan.to_json(), out_dir);
    std::vector<std::string> masked;
    for (const auto& [linear, p] : student.pruned()) masked.push_back(linear);
    out.begin(masked);
    for (const auto& [linear, weight] : merged) {
        auto p = student.pruned().find(linear);
        if (p == student.pruned().end()) {
            out.replace(linear + ".weight", weight);
            continue;
        }
        const at::Tensor keep = p->second.keep;
        out.add(linear, weight, keep.logical_not());
        report.numel += keep.numel();
        report.nnz_pruned += nonzero_count(student.pruned_weight(linear, w.get(linear + ".weight")));
        report.nnz_merged += nonzero_count(weight);
        report.nonzero_in_mask += weight.ne(0).logical_and(keep.logical_not()).sum().item<int64_t>();
    }
    out.commit_json(report.to_json());
    return report;
}

}  // namespace ps
