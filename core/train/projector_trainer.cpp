#include "core/train/projector_trainer.h"

#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/model/processor.h"
#include "core/train/adamw.h"
#include "core/train/training_state.h"

namespace ps {
namespace {

// The projector's tensors: every tensor of the Projector modality's Linear layers.
std::vector<std::string> projector_tensors(const Vlm& model) {
    std::vector<std::string> names;
    for (const LinearLayer& l : model.map().linears) {
        if (l.modality != Modality::Projector) continue;
        names.push_back(l.name + ".weight");
        if (l.has_bias) names.push_back(l.name + ".bias");
    }
    return names;
}

}  // namespace

ProjectorTrainingResult train_projector(Vlm& model, const LabelledImages& train, const ProjectorTrainingOptions& opt,
                                        const JobControl& job) {
    const auto start = std::chrono::steady_clock::now();
    const int vision = tower_index(model, Modality::Vision), language = tower_index(model, Modality::Language);
    if (!model.capabilities().image_tokens_in_language || vision < 0 || language < 0)
        throw Error("train projector", "the model has no image tokens in its language model to align");
    const std::vector<std::string> names = projector_tensors(model);
    if (names.empty()) throw Error("train projector", "the model has no projector tensors");
    double mix_total = 0;
    for (const auto& [kind, share] : opt.mix) mix_total += share > 0 ? share : -1e9;
    if (opt.steps <= 0 || opt.batch_size <= 0 || !(opt.lr > 0) || opt.save_every <= 0 || opt.warmup_steps < 0 || !(mix_total > 0))
        throw Error("train projector", "steps, batch size, learning rate, save interval and the question mix's shares must be positive");
    if (train.images.size(0) == 0) throw Error("train projector", "no training images");

    WeightStore& w = model.weights();
    NamedTensors params;
    for (const std::string& n : names) {
        at::Tensor t = w.get(n).detach().to(at::kFloat).clone().requires_grad_(true);
        w.set(n, t);
        params.emplace_back(n, t);
    }
    AdamWOptions adam_opt;
    adam_opt.weight_decay = 0.0;
    AdamW adam(params, adam_opt);
    const RunIdentity identity = {{"kind", "projector"}, {"seed", std::to_string(opt.seed)},
                                  {"batch_size", std::to_string(opt.batch_size)}, {"steps", std::to_string(opt.steps)},
                                  {"lr", std::to_string(opt.lr)}};
    ProjectorTrainingResult result;
    if (!opt.state_path.empty() && std::filesystem::exists(opt.state_path))
        result.resumed_from = restore_training_state(opt.state_path, adam, identity);

    const Processor processor(model);
    const Tokenizer& tok = processor.tokenizer();
    const int64_t eos = tok.eos_id().value_or(0);
    const ImageProcessorConfig& image_config = processor.image_config();
    const std::vector<std::string>& classes = train.classes;
    std::vector<double> weights;
    for (const auto& [kind, share] : opt.mix) weights.push_back(share);
    const int64_t n_images = train.images.size(0);
    const PromptImage image = processor.prompt_image(static_cast<int>(train.images.size(1)), static_cast<int>(train.images.size(2)));

    for (int64_t step = result.resumed_from; step < opt.steps; ++step) {
        // This step's samples depend on the seed and the step alone, so a resumed run sees the same.
        std::mt19937_64 rng(opt.seed * 1000003ull + static_cast<uint64_t>(step));
        std::discrete_distribution<size_t> kind_of(weights.begin(), weights.end());
        std::vector<int64_t> index(opt.batch_size);
        std::vector<std::vector<int64_t>> ids(opt.batch_size);
        std::vector<std::pair<int64_t, int64_t>> answers;  // (row, first answer position)
        for (int64_t b = 0; b < opt.batch_size; ++b) {
            index[b] = std::uniform_int_distribution<int64_t>(0, n_images - 1)(rng);
            const int64_t label = train.labels[index[b]].item<int64_t>();
            const ClassQuestion q = class_question(opt.mix[kind_of(rng)].first, label, classes, rng);
            ids[b] = processor.chat_ids(q.question, image);
            answers.emplace_back(b, static_cast<int64_t>(ids[b].size()));
            EncodeOptions plain;
            plain.add_special_tokens = false;
            for (int64_t t : tok.encode(q.answer, plain)) ids[b].push_back(t);
            ids[b].push_back(eos);
        }
        VlmInputs in = processor.batch(ids, /*pad_left=*/false);
        const int64_t longest = in.input_ids.size(1);
        std::vector<int64_t> rows, positions, targets;  // logits at position p-1 predict the token at p
        for (int64_t b = 0; b < opt.batch_size; ++b)
            for (int64_t p = answers[b].second; p < static_cast<int64_t>(ids[b].size()); ++p) {
                rows.push_back(b);
                positions.push_back(p - 1);
                targets.push_back(ids[b][p]);
            }
        in.pixel_values = preprocess_gray_batch(train.images.index_select(0, at::tensor(index, at::kLong)), image_config);

        StageState v;
        {
            at::NoGradGuard frozen;
            v = model.embed(vision, in, {});
            for (int i = 0; i < model.towers()[vision].num_blocks; ++i) model.block(vision, i, v);
        }
        model.finish(vision, v);  // the projector, with gradients
        const StageState s = model.run_tower(language, in, {v});
        const at::Tensor flat = s.hidden.reshape({-1, s.hidden.size(-1)});
        const at::Tensor at_answers =
            flat.index_select(0, at::tensor(rows, at::kLong).mul(static_cast<int64_t>(longest)).add(at::tensor(positions, at::kLong)).to(flat.device()));
        StageState answer_state;
        answer_state.hidden = at_answers.unsqueeze(0);
        std::vector<StageState> states(model.towers().size());
        states[vision] = v;
        states[language] = answer_state;
        const at::Tensor logits = model.head(in, states).logits[0].to(at::kFloat);
        const at::Tensor loss = at::cross_entropy_loss(logits, at::tensor(targets, at::kLong).to(logits.device()));
        const double value = loss.item<double>();
        if (!std::isfinite(value)) throw Error("train projector", "the loss is not finite at step " + std::to_string(step));
        loss.backward();
        adam.step(cosine_lr(step, opt.steps, opt.warmup_steps, opt.lr));
        result.losses.push_back(value);

        char detail[64];
        std::snprintf(detail, sizeof detail, "loss %.4f", value);
        const bool save = !opt.state_path.empty();
        if (save && ((step + 1) % opt.save_every == 0 || step + 1 == opt.steps))
            save_training_state(opt.state_path, adam, step + 1, identity);
        try {
            job.report("aligning the projector", step + 1, opt.steps, detail);
        } catch (const Cancelled&) {  // keep this step: a rerun resumes after it
            if (save) save_training_state(opt.state_path, adam, step + 1, identity);
            throw;
        }
    }
    for (const auto& [n, t] : params) result.trained.emplace_back(n, t.detach().clone());
    for (const auto& [n, t] : result.trained) w.set(n, t);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace ps
