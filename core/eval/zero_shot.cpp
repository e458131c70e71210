#include "core/eval/zero_shot.h"

#include "core/error.h"

namespace ps {

EvalResult zero_shot(const Vlm& model, const EvalSet& set, const EvalOptions& opt, const JobControl& job) {
    if (!set.fully_labelled()) throw Error(set.name, "zero-shot classification needs a class label on every image");
    const DualEncoderEncoder enc(model);
    const at::Tensor classes = enc.classes(set.classes, eval_templates(opt));
    const at::Tensor images = enc.images(set, opt.batch_size, job, "zero-shot");
    const at::Tensor correct = (at::matmul(images, classes.t()).argmax(1) == set.labels).to(at::kDouble) * 100.0;
    EvalResult r;
    r.task = "zero-shot";
    r.metrics = {{"top1", correct.mean().item<double>()}, {"images", static_cast<double>(set.size)}};
    r.set_per_class(set.labels, set.classes, {{"top1", correct}});
    return r;
}

}  // namespace ps
