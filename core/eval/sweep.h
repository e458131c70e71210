// Sweeps: a grid of Plans derived from one base Plan — methods × patterns × sparsities (× token keep
// ratios when the Plan prunes tokens), or a vision × language sparsity grid — each pruned in memory and scored by zero-shot top-1 on the Fashion-MNIST
// test images, run as one job. Every point is cached under the hash of its Plan, the evaluation
// settings and the checkpoint files' sizes and times, so re-opening a sweep runs no model code and
// adding a point runs only that point.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/job/plan.h"
#include "core/job/progress.h"

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
    // A modality grid (both non-empty): every (vision, language) pair as a "modality" allocation;
    // methods and sparsities are then not swept.
    std::vector<double> vision, language;
    // Sensitivity analysis: one point per transformer block (and projector), only that block pruned
    // at the base Plan's method and sparsity; the accuracy drop per block is the sensitivity table.
    bool sensitivity = false;
    int64_t eval_limit = -1;  // test images scored (a seeded subset); -1: all 10 000
    int64_t eval_batch = 256;
};

struct SweepPoint {
    std::string key;  // cache key (hex)
    std::string name, method, pattern;
    double sparsity = 0;                       // the Plan's target
    double keep = -1;                          // the token keep ratio of a `keeps` point; -1 otherwise
    bool tokens = false;                       // evaluated with run-time token pruning
    double vision = -1, language = -1;         // grid points; -1 otherwise
    std::string block;                         // sensitivity points: the block pruned alone
    double achieved = 0;                       // pruned / targeted weights
    double accuracy = 0;                       // zero-shot top-1, %
    int64_t params = 0, params_nonzero = 0;    // all parameters of the model, and those left nonzero
    double flops = 0;                          // block FLOPs per sample (core/token/flops), tokens pruned as evaluated
    double seconds = 0;                        // pruning + evaluation when it ran
    bool cached = false;                       // read from the cache in this run

    nlohmann::json to_json() const;
    static SweepPoint from_json(const nlohmann::json& j, const std::string& source);
};

struct SweepResult {
    std::string model;  // the checkpoint swept (the base Plan's model); empty in sweeps written before it was recorded
    std::vector<SweepPoint> points;
    double dense_accuracy = 0, dense_flops = 0;
    int ran = 0, cached = 0;
    double seconds = 0;

    bool tokens_pruned() const;  // any point evaluated with token pruning: then the FLOPs front counts
    bool has_grid() const;       // any vision × language grid point
    nlohmann::json to_json() const;
    std::string to_text() const;
    // What to_json() wrote (sweep.json); throws ps::Error naming `source` for anything else.
    static SweepResult from_json(const nlohmann::json& j, const std::string& source);
};

// The Plans of a sweep, in order. Throws ps::Error naming the field for a method that is not a
// registered unstructured / N:M method, a sparsity outside [0, 1), a keep ratio outside (0, 1], or
// keep ratios for a Plan that prunes no tokens.
std::vector<Plan> sweep_plans(const Plan& base, const SweepSpec& spec);
// The cache key of one point.
std::string sweep_key(const Plan& plan, const SweepSpec& spec);

// Runs (or reads from `cache_dir`, created when missing) every point of the sweep; the model is
// loaded only when a point is not cached. The dense accuracy is a point of its own (sparsity 0).
// Cancelling keeps the points already finished in the cache.
SweepResult run_sweep(const Plan& base, const SweepSpec& spec, const std::string& cache_dir, const JobControl& job);

// Indices of the points on the Pareto front of accuracy (higher) against nonzero parameters or
// FLOPs per sample (fewer), by increasing cost.
enum class ParetoCost { Params, Flops };
std::vector<size_t> pareto_front(const std::vector<SweepPoint>& points, ParetoCost cost = ParetoCost::Params);
// A point's cost in % of the dense model: nonzero parameters, or FLOPs per sample.
double cost_percent(const SweepResult& sweep, const SweepPoint& point, ParetoCost cost);
// The accuracy-vs-sparsity curve a point lies on: "method pattern" (and " keep K%"); empty for
// grid and sensitivity points, which lie on none.
std::string curve_name(const SweepPoint& point);

}  // namespace ps
