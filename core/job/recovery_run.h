// A Plan's recovery from start to export: scores the pruned model, trains the student, merges it
// and writes the recovered checkpoint (the pruned checkpoint's layout: dense tensors with their
// zeros, masks.safetensors, plan.json, and result.json with the training log, accuracies and
// sparsity before and after the merge). `prunestudio-cli recover` and the GUI run this.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job/plan.h"
#include "core/job_control.h"
#include "core/recover/recovery.h"
#include "core/recover/sparse_lora.h"

namespace ps {

struct RecoveryReport {
    RecoveryResult training;
    // The score before and after: zero-shot top-1 (%) on the Plan's eval_samples test images for a
    // dual encoder on Fashion-MNIST; for a generative model the metric of the Plan's evaluation task
    // on the questions about its first eval_samples test images (`task`, `metric` name it).
    std::string task = "zero-shot", metric = "top1";
    std::optional<double> top1_dense, top1_pruned, top1_recovered;
    std::optional<double> top1_repruned;  // plain LoRA: the merged weights pruned with the mask again
    // Over the masked Linears: elements, nonzeros of the pruned and of the exported (merged) weights,
    // and exported nonzeros where the mask says pruned (0 unless plain LoRA).
    int64_t numel = 0, nnz_pruned = 0, nnz_merged = 0, nonzero_in_mask = 0;
    int64_t weights_bytes = 0;     // the model's weights as loaded
    int64_t peak_growth_bytes = 0;  // peak resident memory during training above what it was before
    nlohmann::json to_json() const;
    std::string to_text() const;
};

// `model` is the dense model (resident), `pruned` its pruned Linears. Writes `out_dir` atomically
// (it must not exist); `state_path` (may be empty) makes the training resumable; `on_step` (may be
// empty) hears of every training step. With `group` (may be null) this process trains as its
// rank; rank 0 alone scores, keeps the state and writes `out_dir`.
RecoveryReport run_recovery(Vlm& model, PrunedLinears pruned, const Plan& plan, const std::string& out_dir,
                            const std::string& state_path, const JobControl& job, const RecoveryStepFn& on_step = {},
                            ProcessGroup* group = nullptr);

}  // namespace ps
