#include "core/job/recover_run.h"

#include <filesystem>

#include "core/dist/process_group.h"
#include "core/error.h"
#include "core/job/plan_model.h"
#include "core/job/recovery_run.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/prune/registry.h"
#include "core/prune/scratch_pool.h"

namespace ps {

RecoverRunSummary run_recover(const Plan& plan, const std::string& out_dir, const std::string& state_path, const JobControl& job,
                              const RecoveryStepFn& on_step) {
    ScratchPool::install();  // the pipeline pools its repeated temporaries (PruneMemory)
    if (out_dir.empty()) throw Error("output folder", "none given");
    if (std::filesystem::exists(out_dir)) throw Error(out_dir, "already exists; choose a new output folder");
    if (plan.model.empty()) throw Error("plan", "names no model");
    if (plan.recovery.pruned.empty() && plan.removes_structures())
        throw Error("plan.method", "recovery keeps a pruning mask; method " + plan.method + " removes weights instead");
    const DistEnv env = dist_env_from_environment();
    std::unique_ptr<ProcessGroup> group;
    Plan local = plan;
    // A pruned run's weights are what its own Plan made: the recovered run records that pruning
    // (method, pattern, targets, allocation, tokens…) with this Plan's calibration, run settings and
    // recovery, which are what the recovery reads.
    const std::string pruned_plan = plan.recovery.pruned + "/plan.json";
    if (!plan.recovery.pruned.empty() && std::filesystem::exists(pruned_plan)) {
        const Plan made = Plan::load(pruned_plan);
        const uint64_t seed = local.seed;  // the recovery's own
        static_cast<PruneOptions&>(local) = made;
        local.seed = seed;
        local.name = made.name;
        local.tokens = made.tokens;
    }
    if (env.distributed()) {
        group = std::make_unique<ProcessGroup>(env);
        if (local.device == "cuda") local.device = "cuda:" + std::to_string(env.local_rank);  // one GPU per process
    }
    auto model = load_plan_model(local);
    PrunedLinears pruned;
    if (!plan.recovery.pruned.empty()) {
        pruned = load_pruned_linears(plan.recovery.pruned, model->weights());
    } else {  // prune in memory first, as the Plan says
        const auto batches = calibration_batches(*model, local.calibration, local.seed);
        const PruneResult result = prune_model(*model, local, plan_allocation(*model, local, batches, job), batches, job);
        pruned = take_pruned_linears(model->weights(), result.masks);
    }
    const RecoveryReport report = run_recovery(*model, std::move(pruned), local, out_dir, state_path, job, on_step, group.get());
    return {out_dir, env.rank, env.world_size, report.to_json(), report.to_text()};
}

}  // namespace ps
