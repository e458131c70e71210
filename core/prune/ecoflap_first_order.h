// ECoFLaP's first-order importance (Sung et al., ICLR 2024; "GradMagAbs_sum"): per targeted Linear
// Σ |W| ⊙ |ḡ|, with ḡ the gradient of the calibration loss averaged over the calibration batches,
// summed per block. ecoflap_allocate() turns it into keep budgets as for the zeroth-order scores.
#pragma once
#include <vector>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/ecoflap.h"

namespace ps {

// Over every batch of `calibration` (the Plan's calibration set: 128 samples by default, as in
// ECoFLaP's first-order script). The model's weights are as before afterwards.
EcoflapScores ecoflap_first_order_scores(Vlm& model, const SparsityMap& targets,
                                         const std::vector<VlmInputs>& calibration, const JobControl& job);

}  // namespace ps
