// The model a Plan runs on, opened as the Plan says: its checkpoint folder, device, dtype and
// streaming. One place for the CLI and the prune / recover runs.
#pragma once
#include <memory>

#include "core/job/plan.h"

namespace ps {

class Vlm;

// Throws ps::Error naming the folder or file when the checkpoint cannot be opened.
std::unique_ptr<Vlm> load_plan_model(const Plan& plan);

}  // namespace ps
