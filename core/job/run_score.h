// A finished run scored on a small evaluation subset right after it is written, so a front end
// shows what pruning cost without building the full report: a dual encoder gets zero-shot top-1 on
// a seeded subset of the Fashion-MNIST test images (the run and its dense checkpoint, the same
// images a report or sweep of that size scores), a decoder the mean KL of next-token distributions
// to the dense model on the Plan's calibration data. Kept in RUN/score.json and read from there
// when asked again with the same options.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job_control.h"

namespace ps {

struct ScoreOptions {
    int64_t images = 1000;    // zero-shot: test images scored (as many as a report or a GUI sweep scores)
    int64_t kl_samples = 16;  // next-token KL: calibration samples (at most the Plan's)
};

// The metrics a score is taken in: zero-shot top-1 (%, higher is better), next-token KL (nats, lower is better).
inline constexpr char kZeroShotTop1[] = "zero_shot_top1";
inline constexpr char kNextTokenKl[] = "next_token_kl";

// The record (run_score.cpp, torch-free) and the scoring (score_run.cpp).
struct RunScore {
    std::string metric;  // kZeroShotTop1 | kNextTokenKl
    double run = 0;
    std::optional<double> dense;  // zero-shot: the dense checkpoint on the same images
    int64_t samples = 0;          // test images, or calibration samples
    std::string unavailable;      // why the run cannot be scored; the fields above are then unset
    double seconds = 0;
    bool cached = false;  // read from score.json

    std::string to_text() const;  // one line, e.g. "zero-shot top-1 on 1000 test images: 81.20 % (dense 83.40 %)"
    nlohmann::json to_json() const;
    // Throws ps::Error naming `source` for anything to_json() did not write.
    static RunScore from_json(const nlohmann::json& j, const std::string& source);
};

// Scores `run_dir` (plan.json names the dense checkpoint) or reads its score.json. Throws ps::Error
// naming the file for a folder that is not a run; Cancelled on cancel, with nothing written. A run
// that cannot be scored here (a decoder without a tokenizer, a model that cannot run) comes back with
// `unavailable` set and is not written.
RunScore score_run(const std::string& run_dir, const ScoreOptions& opt, const JobControl& job);

}  // namespace ps
