// OWL, Outlier Weighed Layerwise sparsity (Yin et al., ICML 2024): blocks whose Wanda scores have
// more outliers keep more weights. Per block, D = the fraction of the Wanda scores |W_ij|·‖X_j‖ of
// its targeted Linears above M times their mean; per tower, sparsities are spread linearly over
// [s − λ, s + λ] in reverse order of D, then shifted so the parameter-weighted mean is s.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"

namespace ps {

// D per block path (LinearLayer::group), from the input norms of one pass of the calibration
// batches through the model as it is. `m` > 0 is OWL's outlier threshold M.
std::map<std::string, double> owl_outlier_ratios(Vlm& model, const SparsityMap& targets,
                                                 const std::vector<VlmInputs>& calibration, double m,
                                                 const JobControl& job);

// Each targeted Linear's sparsity from its block's D: per tower (modality), s + λ for the block
// with the fewest outliers down to s − λ for the one with the most (all s when D is the same
// everywhere), plus the one shift that makes Σ params · sparsity = s · Σ params over the tower's
// targets, each value clamped to [0, 1). `targets` gives the Linears (their values are ignored).
SparsityMap owl_allocate(const ModelMap& map, const SparsityMap& targets, const std::map<std::string, double>& ratios,
                         double sparsity, double lambda);

}  // namespace ps
