// The run report: one self-contained HTML file (plots and token heatmaps embedded as PNG data) and
// report.json beside it, built from a run folder (plan.json, result.json) and optionally a sweep:
// the Plan, per-modality totals, the per-layer table (the columns NNCF and Distiller report),
// zero-shot accuracy of the dense model and the run (for a decoder, the mean next-token KL to the dense
// model on its calibration prompts, and the Plan's evaluation task on the built-in questions: both
// models' metrics, and questions shown with their image and both answers side by side),
// score-vs-sparsity curves and sensitivity of a sweep of the same checkpoint,
// token heatmaps of test images, timings and the machine, and measured latency — labelled "size
// only" where the pattern gives no speed-up on this hardware.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job_control.h"

namespace ps {

struct ReportOptions {
    std::string sweep_dir;        // a sweep's output folder (sweep.json); empty: no curves
    int heatmaps = 4;             // test images shown with their token heatmaps
    int64_t eval_limit = 1000;    // test images scored for the accuracy section
    int64_t kl_samples = -1;      // decoders: calibration prompts of the next-token KL (-1: all of the Plan's)
    int64_t questions = 100;      // generative models: test images asked the Plan's evaluation task
    int answers_shown = 6;        // generative models: questions shown with the dense and the run's answers
    int latency_batch = 16, latency_repeats = 5;
};

// Writes `html_path` and report.json beside it (both atomically) and returns report.json's content.
// Throws ps::Error naming the file for a folder without result.json or a model that cannot be read.
nlohmann::json write_report(const std::string& run_dir, const std::string& html_path, const ReportOptions& opt,
                            const JobControl& job);

}  // namespace ps
