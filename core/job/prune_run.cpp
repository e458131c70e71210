#include "core/job/prune_run.h"

#include <filesystem>

#include "core/error.h"
#include "core/job/plan_model.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "core/prune/depth.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/prune/registry.h"
#include "core/prune/width.h"
#include "core/token/joint_pruning.h"

namespace ps {
namespace {

PruneRunSummary run_depth(Vlm& model, const Plan& plan, const std::map<int, int>& counts,
                          const std::vector<VlmInputs>& batches, const std::string& out, const JobControl& job) {
    const auto bi = block_influence(model, batches, job);
    BlockDrops drops;
    PruneRunSummary s;
    nlohmann::json dropped = nlohmann::json::object();
    for (const auto& [tower, count] : counts) {
        drops[tower] = least_influential(bi, tower, count);
        const TowerInfo& info = model.towers()[tower];
        std::string list;
        for (int b : drops[tower]) list += (list.empty() ? "" : ", ") + std::to_string(b);
        s.text += "depth: dropped " + info.name + " tower blocks " + list + " (" + std::to_string(info.num_blocks) + " -> " +
                  std::to_string(info.num_blocks - count) + " blocks)\n";
        dropped[info.name] = drops[tower];
    }
    write_depth_pruned_checkpoint(model, drops, out, &plan);
    s.result = {{"method", "depth"}, {"dropped", dropped}};
    return s;
}

}  // namespace

PruneRunSummary run_prune(const Plan& plan, const std::string& out_dir, const JobControl& job) {
    if (out_dir.empty()) throw Error("output folder", "none given");
    if (std::filesystem::exists(out_dir)) throw Error(out_dir, "already exists; choose a new output folder");
    if (plan.model.empty()) throw Error("plan", "names no model");
    auto model = load_plan_model(plan);
    const std::map<int, int> counts = plan.method == "depth" ? depth_counts(*model, plan) : std::map<int, int>{};  // checks the Plan
    const auto batches = calibration_batches(*model, plan.calibration, plan.seed);
    PruneRunSummary s;
    if (plan.method == "depth") {
        s = run_depth(*model, plan, counts, batches, out_dir, job);
    } else if (plan.method == "width") {
        const WidthResult result = prune_width(*model, plan, batches, job);
        write_width_pruned_checkpoint(*model, plan, result, out_dir);
        s.result = result.to_json();
        s.text = result.to_text();
    } else if (plan.method == "comp") {
        const JointResult result = prune_joint(*model, plan, batches, job);
        write_joint_pruned_checkpoint(*model, plan, result, out_dir);
        s.result = result.to_json();
        s.text = result.to_text();
    } else {
        s.allocation = plan_allocation(*model, plan, batches, job);
        // Written block by block as the run goes: a streaming model is pruned within one block's
        // memory; cancelled or failed, nothing is left behind.
        PrunedCheckpointWriter writer(model->weights().checkpoint(), plan, out_dir);
        const PruneResult result = prune_model(*model, plan, s.allocation, batches, job, &writer);
        writer.commit(result);
        s.result = result.to_json();
        s.text = result.to_text();
    }
    s.out_dir = out_dir;
    return s;
}

}  // namespace ps
