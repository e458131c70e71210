#include "core/job/prune_run.h"

#include <filesystem>

#include "core/error.h"
#include "core/job/plan_model.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "core/prune/device_batches.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/prune/registry.h"
#include "core/prune/scratch_pool.h"

namespace ps {
namespace {

// Whether the Plan's method or its allocation reads the calibration batches.
bool reads_calibration(const PruneMethod& m, const Plan& plan) {
    return m.remove || m.needs_column_norms || m.needs_gram || allocator_by_id(plan.allocation.kind).uses_calibration;
}

}  // namespace

PruneRunSummary run_prune(const Plan& plan, const std::string& out_dir, const JobControl& job) {
    ScratchPool::install();  // the pipeline pools its repeated temporaries (PruneMemory)
    if (out_dir.empty()) throw Error("output folder", "none given");
    if (std::filesystem::exists(out_dir)) throw Error(out_dir, "already exists; choose a new output folder");
    if (plan.model.empty()) throw Error("plan", "names no model");
    const PruneMethod& method = method_by_id(plan.method);
    auto model = load_plan_model(plan);
    // Calibration data, which a checkpoint without a tokenizer cannot give: a method that reads no
    // inputs, allocated without data, then prunes from the weights alone.
    PruneRunSummary s;
    const std::string unavailable = calibration_unavailable(*model, plan.calibration);
    if (!unavailable.empty()) {
        if (reads_calibration(method, plan))
            throw Error("", unavailable + "; " + method.display +
                                " needs calibration data (magnitude pruning with a uniform or per-modality allocation needs none)");
        s.text += "no calibration data (" + unavailable + "): pruned from the weights alone\n";
    }
    const auto batches =
        unavailable.empty() ? size_for_device(*model, calibration_batches(*model, plan.calibration, plan.seed)) : std::vector<VlmInputs>{};
    for (const UnusedBlock& b : unused_blocks(model->map()))
        s.text += std::string(modality_name(b.modality)) + " block " + std::to_string(b.block) + " (" + std::to_string(b.linears) +
                  " Linears) is " + b.why + ": left unpruned and out of the target\n";
    const nlohmann::json recipe = plan.to_json();
    if (method.remove) {
        const StructuralOutcome out = method.remove({*model, plan, batches, recipe, out_dir, job});
        s.result = out.result;
        s.text += out.text;
    } else {
        s.allocation = plan_allocation(*model, plan, batches, job);
        // Written block by block as the run goes: a streaming model is pruned within one block's
        // memory; cancelled or failed, nothing is left behind.
        PrunedCheckpointWriter writer(model->weights().checkpoint(), recipe, out_dir);
        const PruneResult result = prune_model(*model, plan, s.allocation, batches, job, &writer);
        writer.commit(result);
        s.result = result.to_json();
        s.text += result.to_text();
    }
    s.out_dir = out_dir;
    return s;
}

}  // namespace ps
