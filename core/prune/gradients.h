// Gradients of the calibration loss with respect to chosen weights, one calibration batch at a
// time: what first-order importance scores are made of (Taylor |W·∂L/∂W| for structured width
// pruning, ECoFLaP's first-order |W|·|ḡ|).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/job/progress.h"
#include "core/model/vlm.h"

namespace ps {

using GradientVisitor = std::function<void(const std::string& name, const at::Tensor& weight, const at::Tensor& grad)>;

// For each batch: forward and backward of calibration_loss() with the weights `weight_names` (full
// tensor names, e.g. "...query.weight") requiring grad, then visit(name, weight, grad) for each of
// them (float32 tensors on the model's device; the gradient of that batch's loss alone). The
// model's weights are as before afterwards, also when a visit throws or the job is cancelled.
// Throws ps::Error for a name the model does not have.
void for_each_gradient(Vlm& model, const std::vector<std::string>& weight_names, const std::vector<VlmInputs>& calibration,
                       const GradientVisitor& visit, const JobControl& job);

}  // namespace ps
