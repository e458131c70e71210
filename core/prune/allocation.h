// Which Linears a Plan prunes and at what sparsity, as {Linear name: sparsity}. Allocation is a
// step of its own (as ECoFLaP keeps it) so its result can be shown, edited and saved in the Plan.
#pragma once
#include <map>
#include <string>

#include "core/model/model_map.h"
#include "core/prune/prune_options.h"

namespace ps {

using SparsityMap = std::map<std::string, double>;

// Targets: prunable Linears inside transformer blocks, and the projector's Linears when a
// per-modality Plan names a projector ratio, whose name matches a `targets` regex and no `ignore`
// regex. Uniform: each gets the Plan's sparsity; modality: each gets its modality's ratio (a
// modality the Plan does not list gets the Plan's sparsity); overrides last. The adaptive
// allocators start from this map and redistribute it. N:M Plans give N/M to every target with a
// non-zero allocation. Throws ps::Error before any work for a regex matching no Linear or an
// override naming no target.
SparsityMap allocate(const PruneOptions& plan, const ModelMap& map);

// The parameter-weighted mean sparsity of an allocation over its Linears: the one overall figure a
// run targets (a per-modality split's 20 % vision / 70 % language is ~66 % on a language-heavy
// model). 0 for an empty allocation; throws ps::Error for a name the map does not hold.
double overall_sparsity(const SparsityMap& allocation, const ModelMap& map);

// The Plan's ratio for one modality: its entry when the allocation is per modality, else the
// Plan's sparsity. Structured methods read their per-tower fraction this way.
double modality_sparsity(const PruneOptions& plan, Modality m);

// Structured (width, depth) Plans act on whole towers: throws ps::Error naming the field when the
// Plan selects tensors (targets, ignore, overrides) or asks for another allocation than uniform or
// per modality.
void check_whole_tower_plan(const PruneOptions& plan);

}  // namespace ps
