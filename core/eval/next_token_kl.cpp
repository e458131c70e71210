#include "core/eval/next_token_kl.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace ps {
namespace {

at::Tensor log_probs(const Vlm& m, const VlmInputs& in, const char* which) {
    const at::Tensor logits = m.forward(in).logits;
    if (!logits.defined()) throw Error(m.map().dir, std::string("gives no next-token logits (the ") + which + " model is not a decoder)");
    return logits.to(at::kCPU, at::kDouble).log_softmax(-1);
}

}  // namespace

EvalResult next_token_kl(const Vlm& model, const Vlm& dense, const std::vector<VlmInputs>& inputs, const JobControl& job) {
    double sum = 0, worst = 0;
    int64_t positions = 0, samples = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const VlmInputs& in = inputs[i];
        const at::Tensor p = log_probs(dense, in, "dense"), q = log_probs(model, in, "pruned");
        if (p.sizes() != q.sizes())
            throw Error(model.map().dir, "predicts over " + std::to_string(q.size(-1)) + " tokens, the dense model over " +
                                             std::to_string(p.size(-1)) + ": not the same vocabulary");
        const at::Tensor kl = (p.exp() * (p - q)).sum(-1);  // [B,T]
        const at::Tensor attended = in.attention_mask.defined() ? in.attention_mask.to(at::kCPU).to(at::kBool)
                                                                : at::ones(kl.sizes(), at::kBool);
        const at::Tensor counted = kl.masked_select(attended);
        sum += counted.sum().item<double>();
        if (counted.numel() > 0) worst = std::max(worst, counted.max().item<double>());
        positions += counted.numel();
        samples += kl.size(0);
        job.report("next-token KL", static_cast<int64_t>(i + 1), static_cast<int64_t>(inputs.size()));
    }
    if (positions == 0) throw Error("next-token KL", "no attended positions in the inputs");
    EvalResult r;
    r.task = "next_token_kl";
    r.metrics = {{"mean_kl", sum / static_cast<double>(positions)},
                 {"max_kl", worst},
                 {"positions", static_cast<double>(positions)},
                 {"samples", static_cast<double>(samples)}};
    return r;
}

}  // namespace ps
