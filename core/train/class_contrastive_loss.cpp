#include "core/train/class_contrastive_loss.h"

namespace ps {

at::Tensor multi_positive_nce(const at::Tensor& logits, const at::Tensor& positive) {
    const at::Tensor pos_logits = logits.masked_fill(positive.logical_not(), -1e4);
    const at::Tensor per_row = at::logsumexp(logits, 1) - at::logsumexp(pos_logits, 1);
    return per_row.masked_select(positive.any(1)).mean();
}

at::Tensor class_contrastive_loss(const at::Tensor& logits_per_image, const at::Tensor& positive) {
    return 0.5 * (multi_positive_nce(logits_per_image, positive) + multi_positive_nce(logits_per_image.t(), positive.t()));
}

}  // namespace ps
