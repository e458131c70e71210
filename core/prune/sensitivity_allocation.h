// Allocation from a sensitivity sweep (`prunestudio-cli sweep --sensitivity`): the blocks whose
// pruning alone cost the most zero-shot accuracy are pruned least. Per tower the sparsities are
// spread over s ± λ in reverse order of the measured accuracy drop and shifted so that the
// parameter-weighted mean is s: OWL's spreading (core/prune/owl.h), fed with drops instead of
// outlier ratios.
#pragma once
#include <map>
#include <string>

#include "core/model/model_map.h"
#include "core/prune/allocation.h"

namespace ps {

// Block path (LinearLayer::group) -> accuracy drop in points (dense − that block pruned alone) from
// a sweep's sweep.json. Throws ps::Error naming the file when it cannot be read or holds no
// sensitivity points.
std::map<std::string, double> read_sensitivity(const std::string& sweep_json);

// The sparsity of every Linear of `targets` (their values are ignored). Throws ps::Error naming the
// file for a targeted block the sweep has no point for (a sweep of another model).
SparsityMap sensitivity_allocate(const ModelMap& map, const SparsityMap& targets, const std::string& sweep_json,
                                 double sparsity, double lambda);

}  // namespace ps
