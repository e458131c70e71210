#include "core/train/lit_trainer.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include <ATen/core/grad_mode.h>

#include "core/data/image_processor.h"
#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/model/processor.h"
#include "core/train/adamw.h"
#include "core/train/class_contrastive_loss.h"
#include "core/train/rng_stream.h"
#include "core/train/training_state.h"

namespace ps {
namespace {

RunIdentity run_identity(const LitOptions& o, int64_t total) {
    return {{"seed", std::to_string(o.seed)},
            {"batch_size", std::to_string(o.batch_size)},
            {"total_steps", std::to_string(total)}};
}

}  // namespace

LitResult train_lit(Vlm& model, const std::vector<std::string>& trainables, const LabelledImages& data,
                    const std::vector<std::string>& prompts, const LitOptions& opt, const JobControl& job) {
    const int64_t num_classes = static_cast<int64_t>(data.classes.size());
    if (model.towers().size() != 2 || model.towers()[1].modality != Modality::Language)
        throw Error("train", "LiT training needs a dual encoder (vision tower, text tower)");
    if (num_classes == 0 || prompts.empty() || prompts.size() % data.classes.size() != 0)
        throw Error("train", "the prompts must be class-major, the same number for every class");
    if (opt.batch_size <= 0 || opt.epochs <= 0) throw Error("train", "batch size and epochs must be positive");
    const int64_t n = data.images.size(0);
    const int64_t per_epoch = n / opt.batch_size;
    if (per_epoch == 0) throw Error("train", "fewer images than one batch");
    const int64_t total = per_epoch * opt.epochs;
    const int64_t end = opt.max_steps >= 0 ? std::min(total, opt.max_steps) : total;

    const Processor processor(model);
    StageState text;
    {
        at::NoGradGuard no_grad;  // the locked tower runs once
        text = model.run_tower(1, processor.texts(prompts));
    }
    const at::Tensor prompt_labels =
        at::arange(num_classes, at::kLong).repeat_interleave(static_cast<int64_t>(prompts.size()) / num_classes);

    NamedTensors params;
    for (const std::string& name : trainables) {
        at::Tensor p = model.weights().get(name).detach().clone().requires_grad_(true);
        model.weights().set(name, p);
        params.emplace_back(name, p);
    }
    AdamWOptions aopt;
    aopt.weight_decay = opt.weight_decay;
    AdamW adam(params, aopt);

    LitResult result;
    result.total_steps = total;
    const auto identity = run_identity(opt, total);
    if (!opt.state_path.empty() && std::filesystem::exists(opt.state_path))
        result.first_step = restore_training_state(opt.state_path, adam, identity);
    const ImageProcessorConfig& image_cfg = processor.image_config();
    at::Tensor order;
    int64_t order_epoch = -1;
    for (int64_t step = result.first_step; step < end; ++step) {
        const int64_t epoch = step / per_epoch;
        if (epoch != order_epoch) {
            order = at::randperm(n, rng_stream(opt.seed, 1, static_cast<uint64_t>(epoch)), at::kLong);
            order_epoch = epoch;
        }
        const at::Tensor idx = order.slice(0, (step % per_epoch) * opt.batch_size, (step % per_epoch + 1) * opt.batch_size);
        VlmInputs in;
        in.pixel_values = preprocess_gray_batch(data.images.index_select(0, idx), image_cfg);
        if (opt.augment) {
            const at::Tensor flip = at::rand({opt.batch_size}, rng_stream(opt.seed, 2, static_cast<uint64_t>(step))) < 0.5;
            in.pixel_values = at::where(flip.view({-1, 1, 1, 1}), in.pixel_values.flip({3}), in.pixel_values);
        }
        const VlmOutputs out = model.head(in, {model.run_tower(0, in), text});
        const at::Tensor positive = data.labels.index_select(0, idx).unsqueeze(1) == prompt_labels.unsqueeze(0);
        const at::Tensor loss = class_contrastive_loss(out.logits_per_image, positive);
        loss.backward();
        adam.step(cosine_lr(step, total, opt.warmup, opt.lr, opt.min_lr));
        result.losses.push_back(loss.item<double>());
        result.steps = step + 1;
        if (!opt.state_path.empty() && ((step + 1) % opt.checkpoint_every == 0 || step + 1 == end))
            save_training_state(opt.state_path, adam, step + 1, identity);
        char detail[64];
        std::snprintf(detail, sizeof detail, "epoch %lld, loss %.4f", static_cast<long long>(epoch + 1), result.losses.back());
        job.report("training", step + 1, end, detail);
    }
    for (auto& [name, p] : params) model.weights().set(name, p.detach());
    return result;
}

}  // namespace ps
