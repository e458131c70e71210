// Which Linears a Plan prunes and at what sparsity, as {Linear name: sparsity}. Allocation is a
// step of its own (as ECoFLaP keeps it) so its result can be shown, edited and saved in the Plan.
#pragma once
#include <map>
#include <string>

#include "core/job/plan.h"
#include "core/model/model_map.h"

namespace ps {

using SparsityMap = std::map<std::string, double>;

// Targets: prunable Linears inside transformer blocks whose name matches a `targets` regex and no
// `ignore` regex. Uniform: each gets the Plan's sparsity; modality: each gets its modality's ratio
// (vision / language; a modality the Plan does not list gets the Plan's sparsity); overrides last.
// ecoflap starts from the uniform map (ecoflap_allocate() then redistributes it). N:M Plans give N/M to every target with a non-zero allocation. Throws ps::Error before any work
// for a regex matching no Linear, an override naming no target, or a projector ratio above 0
// (projector Linears run outside the blocks and are not pruned yet).
SparsityMap allocate(const Plan& plan, const ModelMap& map);

}  // namespace ps
