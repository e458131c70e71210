// One recovery run as a Plan says — what `prunestudio-cli recover` and the GUI's Recovery tab run:
// load the dense model, take the pruned Linears from the Plan's recovery.pruned folder (or prune
// in memory by the Plan first), train, merge and write the recovered checkpoint atomically; its
// plan.json names the pruning that made the source folder. Torch-free, so front ends can call it.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/job/plan.h"
#include "core/job_control.h"
#include "core/recover/recovery_step.h"

namespace ps {

struct RecoverRunSummary {
    std::string out_dir;
    int rank = 0, world_size = 1;  // data-parallel: rank 0 wrote out_dir
    nlohmann::json result;  // what result.json holds: training log, accuracies, sparsity, memory
    std::string text;       // the result for people, as the CLI prints it
};

// Throws ps::Error naming the field or folder before training for an existing `out_dir`, a Plan
// naming no model, or a method that removes weights instead of masking them; Cancelled (nothing
// written but the state file, from which the same call resumes) on cancel. `on_step` runs on the
// calling thread after every training step. Launched as several processes (torchrun's or Slurm's
// variables, core/dist/process_group.h), each trains on its share of every batch and rank 0
// writes `out_dir` and the state; a process that is lost ends every other one with an Error, the
// last state file intact.
RecoverRunSummary run_recover(const Plan& plan, const std::string& out_dir, const std::string& state_path, const JobControl& job,
                              const RecoveryStepFn& on_step = {});

}  // namespace ps
