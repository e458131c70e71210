#include "core/eval/logit_kl.h"

namespace ps {
namespace {

at::Tensor log_probs(const Vlm& m, const EvalSet& set, const EvalOptions& opt, const JobControl& job, const std::string& stage) {
    const DualEncoderEncoder enc(m);
    const at::Tensor candidates = set.classes.empty() ? enc.texts(set.captions, opt.batch_size)
                                                      : enc.classes(set.classes, eval_templates(opt));
    return enc.logits(enc.images(set, opt.batch_size, job, stage), candidates).to(at::kDouble).log_softmax(1);
}

}  // namespace

EvalResult logit_kl(const Vlm& model, const Vlm& dense, const EvalSet& set, const EvalOptions& opt, const JobControl& job) {
    const at::Tensor p = log_probs(dense, set, opt, job, "kl: dense");
    const at::Tensor q = log_probs(model, set, opt, job, "kl: model");
    const at::Tensor kl = (p.exp() * (p - q)).sum(1);
    EvalResult r;
    r.task = "kl";
    r.metrics = {{"mean_kl", kl.mean().item<double>()}, {"max_kl", kl.max().item<double>()},
                 {"images", static_cast<double>(set.size)}};
    r.set_per_class(set.labels, set.classes, {{"mean_kl", kl}});
    return r;
}

}  // namespace ps
