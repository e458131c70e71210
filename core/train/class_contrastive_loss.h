// The contrastive loss for class-labelled images against class prompts: every image has all the
// prompts of its class as positives, so InfoNCE takes the softmax mass on the positives, in both
// directions (images over prompts, prompts over images). LiT training and recovery use it.
#pragma once
#include <ATen/ATen.h>

namespace ps {

// -log of the softmax mass on the positives, per row, averaged over the rows that have any.
at::Tensor multi_positive_nce(const at::Tensor& logits, const at::Tensor& positive);
// logits_per_image [B, P]; positive [B, P] bool: image i shows the class of prompt j.
at::Tensor class_contrastive_loss(const at::Tensor& logits_per_image, const at::Tensor& positive);

}  // namespace ps
