// The loss a model's own calibration data is scored with, for the importance estimates that need
// one (ECoFLaP's zeroth- and first-order scores, Taylor scores of structured pruning): CLIP's
// symmetric contrastive loss for dual encoders (image i matches caption i), next-token
// cross-entropy for LLaVA (on the batch's labels where it has them: a conversation's answer).
#pragma once
#include <ATen/ATen.h>

#include "core/model/vlm.h"

namespace ps {

// A float32 scalar; differentiable when the weights it depends on require grad.
at::Tensor calibration_loss(const Vlm& model, const VlmInputs& batch);
// The same loss from the outputs of a forward pass over `batch`.
at::Tensor calibration_loss(const VlmOutputs& out, const VlmInputs& batch);

}  // namespace ps
