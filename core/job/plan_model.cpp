#include "core/job/plan_model.h"

#include "core/model/vlm.h"

namespace ps {

std::unique_ptr<Vlm> load_plan_model(const Plan& plan) {
    LoadOptions load;
    load.device = plan.device;
    load.dtype = plan.dtype;
    load.streaming = plan.streaming;
    return Vlm::load(plan.model, load);
}

}  // namespace ps
