// Sweeps: a grid of Plans derived from one base Plan — methods × patterns × sparsities (× token keep
// ratios when the Plan prunes tokens), or a vision × language sparsity grid — each pruned in memory
// and scored on the Fashion-MNIST test images by the base Plan's "evaluation" section (a dual
// encoder by zero-shot top-1, a generative model by a question task and one of its metrics), run as
// one job. Every point is
// cached under the hash of its Plan, the evaluation settings and the checkpoint files' sizes and
// times, so re-opening a sweep runs no model code and adding a point runs only that point.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/eval/sweep_result.h"
#include "core/job/plan.h"
#include "core/job_control.h"

namespace ps {

struct SweepSpec {
    std::vector<std::string> methods;  // empty: the base Plan's method
    std::vector<std::string> patterns; // empty: the base Plan's pattern (unstructured, N:M)
    // Empty: the base Plan's sparsity; a per-modality split is scaled along. An N:M pattern has one
    // point per method, at N/M (its sparsity whatever the target).
    std::vector<double> sparsities;
    // Run-time token pruning: every keep ratio of the base Plan's tokens section set to each of these
    // in turn (the section must prune tokens). Empty: the section as it is.
    std::vector<double> keeps;
    // Token-reduction methods (core/token/token_method.h), each at every keep ratio of `keeps` as the
    // points' tokens section (the base Plan's own tokens section is replaced). Empty: none.
    std::vector<std::string> token_methods;
    // A modality grid (both non-empty): every (vision, language) pair as a "modality" allocation;
    // methods and sparsities are then not swept.
    std::vector<double> vision, language;
    // Sensitivity analysis: one point per transformer block (and projector), only that block pruned
    // at the base Plan's method and sparsity; the accuracy drop per block is the sensitivity table.
    bool sensitivity = false;
    int64_t eval_limit = -1;  // test images scored (a seeded subset for zero-shot, the first N for questions); -1: all 10 000
    int64_t eval_batch = 256;
};

// The Plans of a sweep, in order. Throws ps::Error naming the field for a method that is not a
// registered unstructured / N:M method, a sparsity outside [0, 1), a keep ratio outside (0, 1],
// keep ratios for a Plan that prunes no tokens and names no token methods, or an unknown token method.
std::vector<Plan> sweep_plans(const Plan& base, const SweepSpec& spec);
// The cache key of one point: its Plan (the evaluation's task, not its metric: a point keeps every
// metric of its task), the evaluation size and the checkpoint's files.
std::string sweep_key(const Plan& plan, const SweepSpec& spec);

// Runs (or reads from `cache_dir`, created when missing) every point of the sweep; the model is
// loaded only when a point is not cached (or lacks the metric asked for). Throws ps::Error for a task
// the model's kind has not (EvaluationOptions::task_for), or a metric the task does not give. The dense accuracy is a point of its own (sparsity 0).
// Cancelling keeps the points already finished in the cache.
SweepResult run_sweep(const Plan& base, const SweepSpec& spec, const std::string& cache_dir, const JobControl& job);

}  // namespace ps
