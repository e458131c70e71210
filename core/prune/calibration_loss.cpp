#include "core/prune/calibration_loss.h"

namespace ps {

at::Tensor calibration_loss(const Vlm& model, const VlmInputs& batch) {
    // The towers and head driven here, not through forward(), so that gradients can flow.
    std::vector<StageState> done;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) done.push_back(model.run_tower(t, batch, done));
    VlmOutputs out = model.head(batch, done);
    const at::Tensor& kept = done.back().prompt_index;  // [B,K] when run-time token pruning dropped tokens
    if (!out.logits.defined() || out.logits.size(1) == batch.input_ids.size(1) || !kept.defined())
        return calibration_loss(out, batch);
    // Next-token loss at the positions that are left, each predicting the token after it.
    const at::Tensor ids = batch.input_ids.to(out.logits.device());
    const at::Tensor pos = kept.to(ids.device()).expand({ids.size(0), kept.size(1)});
    const at::Tensor has_next = (pos + 1) < ids.size(1);
    const at::Tensor targets = batch.labels.defined() ? batch.labels.to(ids.device()) : ids;
    const at::Tensor next = targets.gather(1, (pos + 1).clamp_max(ids.size(1) - 1)).masked_fill(has_next.logical_not(), -100);
    const at::Tensor logits = out.logits.to(at::kFloat);
    return at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), next.reshape({-1}), {}, at::Reduction::Mean, -100);
}

at::Tensor calibration_loss(const VlmOutputs& out, const VlmInputs& batch) {
    if (out.logits_per_image.defined()) {
        const at::Tensor logits = out.logits_per_image.to(at::kFloat);
        const at::Tensor target = at::arange(logits.size(0), logits.options().dtype(at::kLong));
        return 0.5 * (at::cross_entropy_loss(logits, target) + at::cross_entropy_loss(logits.t(), target));
    }
    const at::Tensor logits = out.logits.to(at::kFloat);
    const at::Tensor next = (batch.labels.defined() ? batch.labels : batch.input_ids).to(logits.device()).slice(1, 1);
    return at::cross_entropy_loss(logits.slice(1, 0, -1).reshape({-1, logits.size(-1)}), next.reshape({-1}), {}, at::Reduction::Mean, -100);
}

}  // namespace ps
