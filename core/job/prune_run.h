// One pruning run as a Plan says, from checkpoint to written folder — what `prunestudio-cli prune`
// and the GUI's Prune action run: load the model, calibrate, allocate, prune (sparse, width,
// depth or joint) and write the pruned checkpoint atomically. Torch-free, so front ends can call it.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job/plan.h"
#include "core/job_control.h"

namespace ps {

struct PruneRunSummary {
    std::string out_dir;
    nlohmann::json result;              // what result.json holds (width / depth / joint: their own result)
    std::string text;                   // the result for people, as the CLI prints it
    std::map<std::string, double> allocation;  // sparse methods: the {Linear: sparsity} the allocation gave
};

// Throws ps::Error naming the field or file before any work for a bad Plan, an existing `out_dir`,
// or a model that cannot be read; Cancelled (nothing written, the checkpoint untouched) on cancel.
PruneRunSummary run_prune(const Plan& plan, const std::string& out_dir, const JobControl& job);

}  // namespace ps
