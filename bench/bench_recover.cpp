// bench_recover: peak memory of recovery training on the default model against "weights +
// activations", both measured in the same run. The preset "SparseLoRA + KL recovery (Wanda 70%)"
// is run for a few steps on the default model pruned in memory (Wanda 70 %, 128 calibration
// images) in three fresh child processes per repeat, each reading its own /proc/self/status:
//   lora        plain LoRA (W ⊙ M + s·B·A): beyond the weights it holds only what any LoRA
//               finetune does — the activations of the student pass, the teacher pass's
//               transients, the adapters and their AdamW moments. This is the "activations".
//   sparselora  the same steps with SparseLoRA's masked update (W + s·B·A) ⊙ M.
//   sparselora-copy  the same with a second, dense copy of the model resident as a teacher would
//               be for a trainer without PruneStudio's adapter switch (for comparison; the copy
//               is loaded after the baseline is taken, so it counts in the growth).
// Each child opens the model, prunes it, builds the student and the data, takes its resident size,
// resets VmHWM (/proc/self/clear_refs) and trains; it reports the weights' bytes, that size and the
// peak during training. Printed: the peak growth of each mode, and the ratio
// (weights + sparselora growth) / (weights + lora growth), target <= 1.5.
//
// Usage: bench_recover [--repeats R] [--threads T] [--steps N]   (R 1, T the cores, N 10)
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "bench/bench_options.h"
#include "bench/capture_stdout.h"
#include "bench/median.h"
#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/recover/recovery.h"
#include "core/runtime.h"
#include "core/prune/scratch_pool.h"

namespace ps {
namespace {

const char* kUsage = "bench_recover [--repeats R] [--threads T] [--steps N]\n";
const std::vector<std::string> kModes = {"lora", "sparselora", "sparselora-copy"};

// bench_recover --child MODE STEPS THREADS: one training run, one JSON line.
int child(const std::string& mode, int64_t steps, int threads) {
    at::set_num_threads(threads);
    Plan plan = Plan::load(PS_SOURCE_DIR "/resources/presets/sparselora-kl-wanda-70.json");
    plan.model = PS_DEFAULT_MODEL;
    plan.recovery.mode = mode == "lora" ? "lora" : "sparselora";
    plan.recovery.max_steps = steps;
    plan.recovery.eval_every = 0;
    auto model = Vlm::load(plan.model);
    const auto batches = calibration_batches(*model, plan.calibration, plan.seed);
    const PruneResult pruned = prune_model(*model, plan, allocate(plan, model->map()), batches, {});
    PrunedLinears linears = take_pruned_linears(model->weights(), pruned.masks);
    int64_t weights = 0;
    for (const std::string& name : model->weights().checkpoint().names()) weights += model->weights().get(name).nbytes();
    Student student(*model, std::move(linears), student_options(plan.recovery, plan.seed));
    const RecoveryData data(*model, plan.recovery, plan.calibration, plan.seed);
    RecoveryTrainer trainer(*model, student, data, plan.recovery, plan.seed);
    const int64_t before = resident_bytes();
    // The teacher a trainer without the adapter switch keeps: the dense model loaded a second
    // time, every page read in; it counts in the growth.
    std::unique_ptr<Vlm> copy;
    if (mode == "sparselora-copy") {
        copy = Vlm::load(plan.model);
        for (const std::string& name : copy->weights().checkpoint().names()) copy->weights().get(name).sum();
    }
    reset_peak_resident();
    const RecoveryResult r = trainer.run("", nullptr, {});
    const nlohmann::json out = {{"weights", weights}, {"before", before}, {"peak", peak_resident_bytes()},
                                {"seconds", r.seconds}, {"steps", r.steps}, {"loss", r.log.back().loss}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
}

int run(const BenchOptions& o, const std::string& self) {
    const int64_t steps = o.values.at("--steps");
    std::printf("bench_recover: default model pruned by Wanda 70 %%, preset \"SparseLoRA + KL recovery (Wanda 70%%)\", %lld steps "
                "of batch 64 against 60 class prompts, %d torch threads\n\n  %-16s %-6s %12s %14s %10s\n",
                static_cast<long long>(steps), o.threads, "mode", "repeat", "growth (MiB)", "peak (MiB)", "s/step");
    std::map<std::string, std::vector<double>> growth;
    double weights = 0;
    for (int rep = 0; rep < o.repeats; ++rep)
        for (const std::string& mode : kModes) {
            const auto j = nlohmann::json::parse(
                capture_stdout({self, "--child", mode, std::to_string(steps), std::to_string(o.threads)}));
            const double mib = 1 << 20;
            weights = j["weights"].get<double>() / mib;
            growth[mode].push_back((j["peak"].get<double>() - j["before"].get<double>()) / mib);
            std::printf("  %-16s %-6d %12.1f %14.1f %10.2f\n", mode.c_str(), rep + 1, growth[mode].back(), j["peak"].get<double>() / mib,
                        j["seconds"].get<double>() / j["steps"].get<double>());
            std::fflush(stdout);
        }
    const double lora = median(growth["lora"]), sparse = median(growth["sparselora"]), copy = median(growth["sparselora-copy"]);
    std::printf("\n  weights %.1f MiB; medians of the peak growth: lora (activations) %.1f MiB, sparselora %.1f MiB, "
                "sparselora with a teacher copy %.1f MiB\n",
                weights, lora, sparse, copy);
    std::printf("ratio (weights + sparselora growth) / (weights + activations) = %.2f (target <= 1.5); with a teacher copy %.2f\n",
                (weights + sparse) / (weights + lora), (weights + copy) / (weights + lora));
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    ps::ScratchPool::install();  // as the runs in core/job do
    try {
        if (argc == 5 && std::string(argv[1]) == "--child") return ps::child(argv[2], std::stoll(argv[3]), std::stoi(argv[4]));
        const ps::BenchOptions o = ps::parse_bench_options(argc, argv, "bench_recover", ps::kUsage, 1, {{"--steps", 10}});
        return ps::run(o, argv[0]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_recover: %s\n", e.what());
        return 1;
    }
}
