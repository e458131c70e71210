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

// Whether the Plan's method or its allocation reads the calibration batches.
bool reads_calibration(const Plan& plan) {
    if (plan.removes_structures()) return true;
    const PruneMethod& m = method_by_id(plan.method);
    return m.needs_column_norms || m.needs_gram || allocator_by_id(plan.allocation.kind).uses_calibration;
}

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
    // Calibration data, which a checkpoint without a tokenizer cannot give: a method that reads no
    // inputs, allocated without data, then prunes from the weights alone.
    PruneRunSummary s;
    const std::string unavailable = calibration_unavailable(*model);
    if (!unavailable.empty()) {
        if (reads_calibration(plan))
            throw Error("", unavailable + "; " + (plan.removes_structures() ? plan.method : method_by_id(plan.method).display) +
                                " needs calibration data (magnitude pruning with a uniform or per-modality allocation needs none)");
        s.text += "no calibration data (" + unavailable + "): pruned from the weights alone\n";
    }
    const auto batches = unavailable.empty() ? calibration_batches(*model, plan.calibration, plan.seed) : std::vector<VlmInputs>{};
    for (const UnusedBlock& b : unused_blocks(model->map()))
        s.text += std::string(modality_name(b.modality)) + " block " + std::to_string(b.block) + " (" + std::to_string(b.linears) +
                  " Linears) is " + b.why + ": left unpruned and out of the target\n";
    if (plan.method == "depth") {
        const PruneRunSummary depth = run_depth(*model, plan, counts, batches, out_dir, job);
        s.result = depth.result;
        s.text += depth.text;
    } else if (plan.method == "width") {
        const WidthResult result = prune_width(*model, plan, batches, job);
        write_width_pruned_checkpoint(*model, plan, result, out_dir);
        s.result = result.to_json();
        s.text += result.to_text();
    } else if (plan.method == "comp") {
        const JointResult result = prune_joint(*model, plan, batches, job);
        write_joint_pruned_checkpoint(*model, plan, result, out_dir);
        s.result = result.to_json();
        s.text += result.to_text();
    } else {
        s.allocation = plan_allocation(*model, plan, batches, job);
        // Written block by block as the run goes: a streaming model is pruned within one block's
        // memory; cancelled or failed, nothing is left behind.
        PrunedCheckpointWriter writer(model->weights().checkpoint(), plan, out_dir);
        const PruneResult result = prune_model(*model, plan, s.allocation, batches, job, &writer);
        writer.commit(result);
        s.result = result.to_json();
        s.text += result.to_text();
    }
    s.out_dir = out_dir;
    return s;
}

}  // namespace ps
