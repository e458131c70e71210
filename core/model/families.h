// Builds the runnable model for a mapped checkpoint's family.
#pragma once
#include <memory>

#include "core/model/vlm.h"

namespace ps {

// Throws ps::Error naming config.json when the family has no runnable implementation.
std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights);

// Whether create_family_model() runs the family `family_id` (FamilySpec::id); the others can only be inspected.
bool has_runnable_model(const std::string& family_id);

}  // namespace ps
