#include "core/prune/calibration_loss.h"

namespace ps {

at::Tensor calibration_loss(const Vlm& model, const VlmInputs& batch) {
    // The towers and head driven here, not through forward(), so that gradients can flow.
    std::vector<StageState> done;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) done.push_back(model.run_tower(t, batch, done));
    return calibration_loss(model.head(batch, done), batch);
}

at::Tensor calibration_loss(const VlmOutputs& out, const VlmInputs& batch) {
    if (out.logits_per_image.defined()) {
        const at::Tensor logits = out.logits_per_image.to(at::kFloat);
        const at::Tensor target = at::arange(logits.size(0), logits.options().dtype(at::kLong));
        return 0.5 * (at::cross_entropy_loss(logits, target) + at::cross_entropy_loss(logits.t(), target));
    }
    const at::Tensor logits = out.logits.to(at::kFloat);
    const at::Tensor next = batch.input_ids.to(logits.device()).slice(1, 1);
    return at::cross_entropy_loss(logits.slice(1, 0, -1).reshape({-1, logits.size(-1)}), next.reshape({-1}));
}

}  // namespace ps
