#include "core/recover/recovery.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include <ATen/core/grad_mode.h>

#include "core/data/caption_folder.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/data/inputs_file.h"
#include "core/data/llava_conversations.h"
#include "core/data/prompts.h"
#include "core/data/splits.h"
#include "core/dist/process_group.h"
#include "core/error.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/zero_shot.h"
#include "core/model/processor.h"
#include "core/prune/calibration.h"
#include "core/prune/calibration_loss.h"
#include "core/train/adamw.h"
#include "core/train/class_contrastive_loss.h"
#include "core/train/rng_stream.h"
#include "core/train/training_state.h"

namespace ps {

namespace {

// Random-stream purposes (rng_stream's second argument).
constexpr uint64_t kOrder = 1, kDropout = 3;

bool is_dual_encoder(const Vlm& model) { return model.capabilities().kind == ModelKind::DualEncoder; }

// The towers, head and the hidden states after the `blocks` (tower, block) asked for, in that order,
// under the caller's grad mode.
VlmOutputs forward_capturing(const Vlm& model, const VlmInputs& in, const std::vector<std::pair<int, int>>& blocks) {
    std::vector<StageState> done;
    std::map<std::pair<int, int>, at::Tensor> kept;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        StageState s = model.embed(t, in, done);
        for (int i = 0; i < model.towers()[t].num_blocks; ++i) {
            model.block(t, i, s);
            if (std::find(blocks.begin(), blocks.end(), std::make_pair(t, i)) != blocks.end()) kept[{t, i}] = s.hidden;
        }
        model.finish(t, s);
        done.push_back(std::move(s));
    }
    VlmOutputs out = model.head(in, done);
    out.hidden_states.emplace_back();
    for (const auto& b : blocks) out.hidden_states.back().push_back(kept.at(b));
    return out;
}

// The logits distillation matches, one distribution per row: image-to-text logits of a dual
// encoder, next-token logits of a decoder — of a labelled batch (a conversation) only those that
// predict a labelled token, the answer's.
at::Tensor distilled_logits(const VlmOutputs& out, const VlmInputs& in) {
    const at::Tensor l = out.logits_per_image.defined() ? out.logits_per_image : out.logits;
    if (!out.logits_per_image.defined() && in.labels.defined() && l.dim() == 3 && l.size(1) == in.labels.size(1)) {
        const at::Tensor predicts = in.labels.slice(1, 1).to(l.device()) != -100;  // [B,T-1]
        return l.slice(1, 0, -1).to(at::kFloat).index({predicts});
    }
    return l.to(at::kFloat).reshape({-1, l.size(-1)});
}

// A generative VLM on Fashion-MNIST trains on the built-in questions (core/data/fashion_mnist_vqa.h)
// about a `fraction` of the training images, disjoint from the `calibration` images the pruning was
// scored on: open, yes/no and multiple choice in turn, each asked as the evaluation asks it and
// answered with its reference text — yes/no the positive for half the images, else POPE's random,
// popular and adversarial negatives in turn.
std::vector<VlmInputs> question_batches(const Vlm& model, double fraction, int64_t calibration, uint64_t seed) {
    const Processor processor(model);
    const LabelledImages train = load_fashion_mnist(fashion_mnist_dir(), "train");
    const int64_t total = train.images.size(0);
    const int64_t samples = std::min(total - calibration, std::max<int64_t>(1, std::llround(fraction * static_cast<double>(total))));
    const at::Tensor rows = at::tensor(make_splits(total, seed, calibration, samples).recovery, at::kLong);
    const LabelledImages picked{train.images.index_select(0, rows), train.labels.index_select(0, rows), train.classes};
    const std::vector<VqaKind> kinds = {VqaKind::Open, VqaKind::YesNo, VqaKind::Choice};
    std::vector<VqaSet> sets;
    for (VqaKind k : kinds) sets.push_back(fashion_mnist_vqa(picked, k, -1, seed));
    std::vector<VlmInputs> batches;
    for (int64_t i = 0; i < samples; ++i) {
        const size_t k = static_cast<size_t>(i % 3);
        const int64_t yes_no = i / 3 % 2 == 0 ? 0 : 1 + i / 6 % 3;  // of the image's four yes/no questions
        const VqaItem& q = sets[k].items.at(static_cast<size_t>(kinds[k] == VqaKind::YesNo ? 4 * i + yes_no : i));
        batches.push_back(processor.chat(labelled_image_rgb(picked, i), vqa_prompt(q, kinds[k], VqaEvalOptions{}),
                                         vqa_reference_text(q, kinds[k])));
    }
    return batches;
}

}  // namespace

StudentOptions student_options(const RecoveryOptions& r, uint64_t seed) {
    StudentOptions o;
    o.mode = parse_recovery_mode(r.mode);
    o.rank.clear();
    for (const auto& [m, rank] : r.rank)
        o.rank[m == "vision" ? Modality::Vision : m == "projector" ? Modality::Projector : Modality::Language] = rank;
    o.alpha = r.alpha;
    o.dropout = r.dropout;
    o.seed = seed;
    return o;
}

nlohmann::json RecoveryResult::to_json() const {
    nlohmann::json steps_j = nlohmann::json::array(), evals_j = nlohmann::json::array();
    for (const RecoveryStepLog& s : log)
        steps_j.push_back({{"step", s.step}, {"loss", s.loss}, {"task", s.task}, {"kl", s.kl}, {"hidden", s.hidden}, {"lr", s.lr}});
    for (const auto& [step, acc] : evals) evals_j.push_back({{"step", step}, {"zero_shot_top1", acc}});
    return {{"mode", mode}, {"trainable_params", trainable_params}, {"first_step", first_step}, {"steps", steps},
            {"total_steps", total_steps}, {"examples", examples}, {"seconds", seconds}, {"log", steps_j}, {"evals", evals_j}};
}

RecoveryData::RecoveryData(const Vlm& model, const RecoveryOptions& recovery, const CalibrationOptions& calibration, uint64_t seed)
    : opt_(recovery), seed_(seed) {
    const std::string& source = calibration.data;
    if (is_dual_encoder(model) && source == "fashion-mnist") {
        const Processor processor(model);
        images_ = load_fashion_mnist(fashion_mnist_dir(), "train");
        const int64_t n = images_.images.size(0);
        const int64_t wanted = std::max<int64_t>(opt_.batch_size, std::llround(opt_.data_fraction * static_cast<double>(n)));
        // Disjoint from the calibration images the pruning was scored on.
        picks_ = make_splits(n, seed_, calibration.samples, std::min(wanted, n - calibration.samples)).recovery;
        const std::vector<std::string> prompts = class_prompts(images_.classes, zero_shot_templates());
        prompts_ = processor.texts(prompts);
        const auto per_class = static_cast<int64_t>(prompts.size() / images_.classes.size());
        prompt_labels_ = at::arange(static_cast<int64_t>(images_.classes.size()), at::kLong).repeat_interleave(per_class);
        image_cfg_ = processor.image_config();
        examples_ = static_cast<int64_t>(picks_.size());
    } else if (model.capabilities().generative() && model.capabilities().tower(Modality::Vision) && source == "fashion-mnist") {
        batches_ = question_batches(model, opt_.data_fraction, calibration.samples, seed_);
        examples_ = static_cast<int64_t>(batches_.size());
    } else {
        const int64_t n = source == "fashion-mnist"           ? 60000
                          : is_conversation_file(source) ? static_cast<int64_t>(load_llava_conversations(source).size())
                          : is_inputs_file(source)       ? read_inputs_file(source).rows
                                                         : static_cast<int64_t>(load_caption_folder(source).items.size());
        CalibrationOptions c;
        c.data = source;
        c.samples = std::max<int64_t>(1, std::llround(opt_.data_fraction * static_cast<double>(n)));
        c.batch_size = opt_.batch_size;
        batches_ = calibration_batches(model, c, seed_ + 1);
        examples_ = c.samples;
    }
    if (steps_per_epoch() == 0)
        throw Error("recovery", "the data fraction gives " + std::to_string(examples_) + " examples, fewer than one batch of " +
                                    std::to_string(opt_.batch_size));
}

RecoveryData::RecoveryData(std::vector<VlmInputs> batches, const RecoveryOptions& recovery, uint64_t seed)
    : opt_(recovery), seed_(seed), batches_(std::move(batches)) {
    if (batches_.empty()) throw Error("recovery", "no training batches");
    for (const VlmInputs& b : batches_) examples_ += b.input_ids.defined() ? b.input_ids.size(0) : b.pixel_values.size(0);
}

int64_t RecoveryData::steps_per_epoch() const {
    return prompts_.input_ids.defined() ? static_cast<int64_t>(picks_.size()) / opt_.batch_size : static_cast<int64_t>(batches_.size());
}

RecoveryBatch RecoveryData::batch(int64_t index) const {
    const int64_t per_epoch = steps_per_epoch(), epoch = index / per_epoch, at = index % per_epoch;
    const int64_t n = prompts_.input_ids.defined() ? static_cast<int64_t>(picks_.size()) : per_epoch;
    const at::Tensor order = at::randperm(n, rng_stream(seed_, kOrder, static_cast<uint64_t>(epoch)), at::kLong);
    RecoveryBatch b;
    if (!prompts_.input_ids.defined()) {
        b.inputs = batches_[order[at].item<int64_t>()];
        return b;
    }
    const at::Tensor rows = at::tensor(picks_, at::kLong).index_select(0, order.slice(0, at * opt_.batch_size, (at + 1) * opt_.batch_size));
    b.inputs = prompts_;
    b.inputs.pixel_values = preprocess_gray_batch(images_.images.index_select(0, rows), image_cfg_);
    b.labels = images_.labels.index_select(0, rows);
    return b;
}

at::Tensor RecoveryData::task_loss(const VlmOutputs& out, const RecoveryBatch& batch) const {
    if (!batch.labels.defined()) return calibration_loss(out, batch.inputs);
    const at::Tensor positive = batch.labels.to(out.logits_per_image.device()).unsqueeze(1) ==
                                prompt_labels_.to(out.logits_per_image.device()).unsqueeze(0);
    return class_contrastive_loss(out.logits_per_image.to(at::kFloat), positive);
}

RecoveryTrainer::RecoveryTrainer(Vlm& model, Student& student, const RecoveryData& data, const RecoveryOptions& recovery,
                                 uint64_t seed, ProcessGroup* group)
    : model_(model), student_(student), data_(data), opt_(recovery), seed_(seed), group_(group) {
    const RecoveryOptions& r = opt_;
    if (r.hidden > 0) {
        for (const std::string& spec : r.hidden_layers) {
            const auto dot = spec.find('.');
            int t = -1;
            for (int k = 0; k < static_cast<int>(model.towers().size()); ++k)
                if (model.towers()[k].name == spec.substr(0, dot)) t = k;
            const int block = std::stoi(spec.substr(dot + 1));
            if (t < 0 || block >= model.towers()[t].num_blocks)
                throw Error("recovery", "hidden layer '" + spec + "' is not a block of this model's towers");
            distilled_.emplace_back(t, block);
        }
        if (distilled_.empty())
            for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) distilled_.emplace_back(t, model.towers()[t].num_blocks - 1);
    }
}

RecoveryTrainer::Losses RecoveryTrainer::losses(const RecoveryBatch& batch, std::optional<at::Generator> dropout) {
    const RecoveryOptions& r = opt_;
    Losses l;
    {
        at::NoGradGuard no_grad;  // the dense model: the student's adapter is not installed
        l.teacher = forward_capturing(model_, batch.inputs, distilled_);
    }
    {
        const StudentScope scope(model_, student_);
        student_.set_dropout_generator(std::move(dropout));
        try {
            l.student = forward_capturing(model_, batch.inputs, distilled_);
        } catch (...) {
            student_.set_dropout_generator(std::nullopt);
            throw;
        }
        student_.set_dropout_generator(std::nullopt);
    }
    if (group_ && batch.labels.defined()) {
        // The class-contrastive loss compares every prompt with the images of all shares: it is
        // taken over every rank's logits (Losses::shared_task), this rank's part carrying its gradient.
        VlmOutputs all = l.student;
        all.logits_per_image = group_->gather_rows(l.student.logits_per_image);
        RecoveryBatch whole = batch;
        whole.labels = group_->gather_rows(batch.labels);
        l.task = data_.task_loss(all, whole);
        l.shared_task = true;
    } else {
        l.task = data_.task_loss(l.student, batch);
    }
    const double t = r.temperature;
    const at::Tensor log_p = at::log_softmax(distilled_logits(l.teacher, batch.inputs) / t, -1);
    const at::Tensor log_q = at::log_softmax(distilled_logits(l.student, batch.inputs) / t, -1);
    l.kl = (log_p.exp() * (log_p - log_q)).sum(-1).mean() * (r.t2 ? t * t : 1.0);
    l.hidden = at::zeros({}, l.kl.options());
    for (size_t k = 0; k < distilled_.size(); ++k)
        l.hidden = l.hidden + at::mse_loss(l.student.hidden_states[0][k].to(at::kFloat), l.teacher.hidden_states[0][k].to(at::kFloat));
    if (!distilled_.empty()) l.hidden = l.hidden / static_cast<double>(distilled_.size());
    l.total = r.task * l.task + r.kl * l.kl + r.hidden * l.hidden;
    return l;
}

RecoveryResult RecoveryTrainer::run(const std::string& state_path, const EvalSet* eval, const JobControl& job,
                                    const RecoveryStepFn& on_step) {
    const auto start = std::chrono::steady_clock::now();
    const RecoveryOptions& r = opt_;
    const int world = group_ ? group_->world_size() : 1, rank = group_ ? group_->rank() : 0;
    const bool lead = rank == 0;
    // The one-process schedule's micro-batches, `world` at a time: a step's k-th micro-batch is
    // batches [g·world, (g+1)·world) of its epoch, with g its global micro-batch index, one per rank.
    const int64_t micro_per_epoch = data_.steps_per_epoch(), rounds_per_epoch = micro_per_epoch / world;
    if (rounds_per_epoch == 0)
        throw Error("recovery", "an epoch has " + std::to_string(micro_per_epoch) + " batches, fewer than the " +
                                    std::to_string(world) + " processes");
    const int64_t total = std::max<int64_t>(1, r.epochs * rounds_per_epoch / r.grad_accum);
    const int64_t end = r.max_steps >= 0 ? std::min(total, r.max_steps) : total;
    auto micro_batch = [&](int64_t g) { return g / rounds_per_epoch * micro_per_epoch + g % rounds_per_epoch * world + rank; };

    AdamWOptions aopt;
    aopt.weight_decay = r.weight_decay;
    AdamW adam(student_.parameters(), aopt);
    RecoveryResult result;
    result.mode = recovery_mode_name(student_.mode());
    result.trainable_params = student_.trainable_count();
    result.total_steps = total;
    result.examples = data_.examples();

    RunIdentity identity = {{"seed", std::to_string(seed_)}, {"mode", result.mode}, {"total_steps", std::to_string(total)},
                            {"batch_size", std::to_string(r.batch_size)}, {"grad_accum", std::to_string(r.grad_accum)},
                            {"examples", std::to_string(result.examples)}};
    if (world > 1) identity["world_size"] = std::to_string(world);
    if (lead && !state_path.empty() && std::filesystem::exists(state_path))
        result.first_step = restore_training_state(state_path, adam, identity);
    if (group_) {  // every rank starts from rank 0's parameters, moments and step
        at::NoGradGuard no_grad;
        std::vector<at::Tensor> state;
        for (const auto& [name, p] : student_.parameters()) state.push_back(p);
        for (const auto& [name, m] : adam.state()) state.push_back(m);
        const at::Tensor step = at::tensor({static_cast<double>(result.first_step)}, at::kDouble);
        state.push_back(step);
        group_->broadcast(state);
        result.first_step = static_cast<int64_t>(step.item<double>());
        if (!lead) adam.restore(adam.state(), result.first_step);
    }
    auto evaluate = [&] {
        const StudentScope scope(model_, student_);
        return zero_shot(model_, *eval, EvalOptions{}, job).value();  // top-1
    };

    for (int64_t step = result.first_step; step < end; ++step) {
        RecoveryStepLog s;
        s.step = step + 1;
        s.lr = cosine_lr(step, total, r.warmup, r.lr, r.min_lr);
        for (int64_t k = 0; k < r.grad_accum; ++k) {
            const int64_t micro = micro_batch(step * r.grad_accum + k);
            const Losses l = losses(data_.batch(micro), rng_stream(seed_, kDropout, static_cast<uint64_t>(micro)));
            // Gradients are averaged over the ranks; a task loss they share is the whole batch's on
            // each, so its part counts `world` times to be summed once.
            const at::Tensor objective = l.shared_task ? l.total + static_cast<double>(world - 1) * r.task * l.task : l.total;
            (objective / static_cast<double>(r.grad_accum)).backward();
            s.loss += l.total.item<double>() / static_cast<double>(r.grad_accum);
            s.task += l.task.item<double>() / static_cast<double>(r.grad_accum);
            s.kl += l.kl.item<double>() / static_cast<double>(r.grad_accum);
            s.hidden += l.hidden.item<double>() / static_cast<double>(r.grad_accum);
            job.check("recovery");
        }
        if (group_) {  // the adapters' gradients and the logged losses: means over the ranks' shares
            std::vector<at::Tensor> grads;
            for (const auto& [name, p] : student_.parameters())
                if (p.grad().defined()) grads.push_back(p.grad());
            const at::Tensor parts = at::tensor({s.loss, s.task, s.kl, s.hidden}, at::kDouble);
            grads.push_back(parts);
            group_->average(grads);
            s.loss = parts[0].item<double>();
            s.task = parts[1].item<double>();
            s.kl = parts[2].item<double>();
            s.hidden = parts[3].item<double>();
        }
        adam.step(s.lr);
        result.log.push_back(s);
        result.steps = step + 1;
        if (lead && !state_path.empty() && ((step + 1) % r.checkpoint_every == 0 || step + 1 == end))
            save_training_state(state_path, adam, step + 1, identity);
        std::optional<double> top1;
        if (lead && eval && r.eval_every > 0 && (step + 1) % r.eval_every == 0) {
            top1 = evaluate();
            result.evals.emplace_back(step + 1, *top1);
        }
        if (on_step) on_step(s, top1);
        if (!lead) continue;
        char detail[160];
        int len = std::snprintf(detail, sizeof detail, "loss %.4f (task %.4f, kl %.4f, hidden %.4f), lr %.2e", s.loss, s.task,
                                s.kl, s.hidden, s.lr);
        if (top1) std::snprintf(detail + len, sizeof detail - static_cast<size_t>(len), ", zero-shot %.2f %%", *top1);
        job.report("recovery", step + 1, end, detail);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace ps
