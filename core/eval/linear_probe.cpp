#include "core/eval/linear_probe.h"

#include "core/error.h"
#include "core/train/adamw.h"

namespace ps {

EvalResult linear_probe(const Vlm& model, const EvalSet& train, const EvalSet& test, const EvalOptions& opt,
                        const JobControl& job, const LinearProbeOptions& probe) {
    if (!train.fully_labelled() || !test.fully_labelled() || train.classes != test.classes)
        throw Error(test.name, "a linear probe needs labelled train and test sets with the same classes");
    const DualEncoderEncoder enc(model);
    at::Tensor x = enc.images(train, opt.batch_size, job, "linear probe: train features");
    at::Tensor xt = enc.images(test, opt.batch_size, job, "linear probe: test features");
    const at::Tensor mean = x.mean(0), std = x.std(0).clamp_min(1e-6);
    x = (x - mean) / std;
    xt = (xt - mean) / std;

    const int64_t classes = static_cast<int64_t>(train.classes.size());
    at::Tensor w = at::zeros({classes, x.size(1)}).requires_grad_(true);
    at::Tensor b = at::zeros({classes}).requires_grad_(true);
    AdamWOptions aopt;
    aopt.weight_decay = probe.weight_decay;
    AdamW adam({{"weight", w}, {"bias", b}}, aopt);
    for (int64_t step = 0; step < probe.steps; ++step) {
        at::cross_entropy_loss(at::linear(x, w, b), train.labels).backward();
        adam.step(cosine_lr(step, probe.steps, 0, probe.lr));
        job.report("linear probe: fitting", step + 1, probe.steps);
    }
    const at::Tensor correct = (at::linear(xt, w, b).argmax(1) == test.labels).to(at::kDouble).detach() * 100.0;
    EvalResult r;
    r.task = "linear-probe";
    r.metrics = {{"top1", correct.mean().item<double>()}, {"train_images", static_cast<double>(train.size)},
                 {"images", static_cast<double>(test.size)}};
    r.set_per_class(test.labels, test.classes, {{"top1", correct}});
    return r;
}

}  // namespace ps
