#include "core/job/run_score.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "core/data/fashion_mnist.h"
#include "core/data/prompts.h"
#include "core/error.h"
#include "core/eval/eval_set.h"
#include "core/eval/next_token_kl.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_files.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/model/processor.h"
#include "core/prune/calibration.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

// The dense checkpoint's zero-shot top-1 on `set`, scored once per process for each folder (as its
// files are now) and subset size: every run pruned from it is compared with the same figure.
double dense_top1(const std::string& dir, const EvalSet& set, const JobControl& job) {
    static std::mutex mu;
    static std::map<std::string, double> cache;
    const std::string key = dir + "|" + std::to_string(set.size) + "|" + checkpoint_identity(dir).dump();
    {
        const std::lock_guard<std::mutex> lock(mu);
        if (const auto it = cache.find(key); it != cache.end()) return it->second;
    }
    const double top1 = zero_shot(*Vlm::load(dir), set, {}, job).value();
    const std::lock_guard<std::mutex> lock(mu);
    return cache[key] = top1;
}

RunScore unavailable(const std::string& why) {
    RunScore s;
    s.unavailable = why;
    return s;
}

}  // namespace

RunScore score_run(const std::string& run_dir, const ScoreOptions& opt, const JobControl& job) {
    if (!fs::exists(run_dir + "/result.json")) throw Error(run_dir, "has no result.json (is it a run folder?)");
    const std::string file = run_dir + "/score.json";
    const nlohmann::json options = {{"images", opt.images}, {"kl_samples", opt.kl_samples}};
    if (fs::exists(file)) {
        const nlohmann::json j = read_json_file(file);
        if (j.is_object() && j.value("options", nlohmann::json()) == options) {
            RunScore s = RunScore::from_json(j, file);
            s.cached = true;
            return s;
        }
    }
    const auto start = std::chrono::steady_clock::now();
    const std::string plan_path = run_dir + "/plan.json";
    const Plan plan = fs::exists(plan_path) ? Plan::load(plan_path) : Plan{};
    const bool has_dense = !plan.model.empty() && fs::exists(plan.model);
    RunScore s;
    try {
        const auto model = Vlm::load(run_dir);
        if (!model->capabilities().generative()) {
            s.metric = kZeroShotTop1;
            const LabelledImages test = load_fashion_mnist(fashion_mnist_dir(), "test");
            const EvalSet set = labelled_eval_set("fashion-mnist test", test, Processor(*model).image_config(), zero_shot_templates(),
                                                  opt.images);
            s.run = zero_shot(*model, set, {}, job).value();
            if (has_dense) s.dense = dense_top1(plan.model, set, job);
            s.samples = set.size;
        } else {
            if (!has_dense) return unavailable(plan_path + " names no dense checkpoint that still exists to compare with");
            s.metric = kNextTokenKl;
            const auto dense = Vlm::load(plan.model);
            CalibrationOptions c = plan.calibration;
            c.samples = std::min(c.samples, opt.kl_samples);
            const EvalResult kl = next_token_kl(*model, *dense, calibration_batches(*dense, c, plan.seed), job);
            s.run = kl.metric("mean_kl");
            s.samples = static_cast<int64_t>(kl.metric("samples"));
        }
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {  // a model or data this run cannot be scored on here: said, not thrown
        return unavailable(e.what());
    }
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json j = s.to_json();
    j["options"] = options;
    write_file_atomic(file, j.dump(2) + "\n");
    return s;
}

}  // namespace ps
