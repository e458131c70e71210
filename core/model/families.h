// Builds the runnable model for a mapped checkpoint's family.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

// Throws ps::Error naming config.json when the family has no runnable implementation.
std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights);

}  // namespace ps
