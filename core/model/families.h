// The registry list of the model families core knows, one line each (the family's own file gives
// its FamilySpec), and building the runnable model of a mapped checkpoint.
#pragma once
#include <memory>
#include <vector>

#include "core/model/vlm.h"

namespace ps {

// Every built-in family, runnable ones first; register_family() adds plugins' after these.
std::vector<FamilySpec> builtin_families();

// Throws ps::Error naming config.json when the family has no runnable implementation.
std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights);

}  // namespace ps
