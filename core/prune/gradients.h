// Gradients of the calibration loss with respect to chosen weights, one calibration batch at a
// time: what first-order importance scores are made of (Taylor |W·∂L/∂W| for structured width
// pruning, ECoFLaP's first-order |W|·|ḡ|).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

// Σ over the calibration batches of ∂L_b/∂W for each of `weight_names` (full tensor names, e.g.
// "...query.weight"), L_b the batch's calibration_loss(): one forward and backward per batch, each
// batch's gradient added in float32 on the model's device. The model's weights are as before
// afterwards, also when the job is cancelled. Throws ps::Error for a name the model does not have.
std::map<std::string, at::Tensor> summed_gradients(Vlm& model, const std::vector<std::string>& weight_names,
                                                   const std::vector<VlmInputs>& calibration, const JobControl& job);

}  // namespace ps
