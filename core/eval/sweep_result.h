// A sweep's record: its points (method, pattern, sparsity or grid cell, score, cost) and dense
// baseline, as sweep.json holds them, and the Pareto fronts and curves drawn from them. A point's
// score is the sweep's metric of its task (zero-shot top-1 for a dual encoder; a generative task's
// metric, e.g. open-ended exact match or answer NLL, for a generative model).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

struct SweepPoint {
    std::string key;  // cache key (hex)
    std::string name, method, pattern;
    double sparsity = 0;                       // the Plan's target
    double keep = -1;                          // the token keep ratio of a `keeps` point; -1 otherwise
    std::string token_method;                  // the registered token method of a `token_methods` point; "" otherwise
    bool tokens = false;                       // evaluated with run-time token pruning
    double image_tokens = -1;                  // image tokens the language model meets per prompt (equivalent tokens when
                                               // they leave in stages); -1 without image tokens in a language model
    double prefill_ms = 0;                     // a prompt's prefill (forward to logits) as evaluated: a calibration batch's time / its size
    double vision = -1, language = -1;         // grid points; -1 otherwise
    std::string block;                         // sensitivity points: the block pruned alone
    double achieved = 0;                       // pruned / targeted weights
    double accuracy = 0;                       // the score: the sweep's metric (zero-shot top-1, %, by default)
    std::string task;                          // what scored it (zero-shot, open, yes-no, choice)
    std::vector<std::pair<std::string, double>> metrics;  // every metric of the task's evaluation, headline first
    int64_t params = 0, params_nonzero = 0;    // all parameters of the model, and those left nonzero
    double flops = 0;                          // block FLOPs per sample (core/token/flops), tokens pruned as evaluated
    double seconds = 0;                        // pruning + evaluation when it ran
    bool cached = false;                       // read from the cache in this run

    nlohmann::json to_json() const;
    static SweepPoint from_json(const nlohmann::json& j, const std::string& source);
};

struct SweepResult {
    std::string model;  // the checkpoint swept (the base Plan's model); empty in sweeps written before it was recorded
    std::string task = "zero-shot", metric = "top1";  // what scored the points
    bool lower_is_better = false;                      // the metric is a loss (answer NLL)
    std::vector<SweepPoint> points;
    double dense_accuracy = 0, dense_flops = 0;
    double dense_image_tokens = -1, dense_prefill_ms = 0;  // the dense point's (see SweepPoint)
    int ran = 0, cached = 0;
    double seconds = 0;

    bool tokens_pruned() const;  // any point evaluated with token pruning: then the FLOPs front counts
    bool has_grid() const;       // any vision × language grid point
    // "%", "nats" or "" (a ratio or a count): the unit of the score.
    std::string metric_unit() const;
    // "zero-shot top1 (%)", "open answer_nll (nats)": the score's name and unit, for axes and tables.
    std::string metric_label() const;
    // How much worse a score is than the dense model's (the sensitivity of a block): dense − score,
    // or score − dense for a loss.
    double drop(double score) const { return lower_is_better ? score - dense_accuracy : dense_accuracy - score; }
    nlohmann::json to_json() const;
    std::string to_text() const;
    // What to_json() wrote (sweep.json); throws ps::Error naming `source` for anything else.
    static SweepResult from_json(const nlohmann::json& j, const std::string& source);
};

// Indices of the points on the Pareto front of the score (higher, or lower for a loss) against
// nonzero parameters or FLOPs per sample (fewer), by increasing cost.
enum class ParetoCost { Params, Flops };
std::vector<size_t> pareto_front(const std::vector<SweepPoint>& points, ParetoCost cost = ParetoCost::Params,
                                 bool lower_is_better = false);
// A point's cost in % of the dense model: nonzero parameters, or FLOPs per sample.
double cost_percent(const SweepResult& sweep, const SweepPoint& point, ParetoCost cost);
// The accuracy-vs-sparsity curve a point lies on: "method pattern" (and " keep K%", or " tokens
// METHOD keep K%"); empty for grid and sensitivity points, which lie on none.
std::string curve_name(const SweepPoint& point);
// A fraction as the sweep's names and tables write it: 0.5 -> "50%".
std::string percent_label(double fraction);

}  // namespace ps
