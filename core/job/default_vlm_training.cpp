#include "core/job/default_vlm_training.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>

#include "core/data/fashion_mnist_vqa.h"
#include "core/eval/vqa_eval.h"
#include "core/io/atomic_file.h"
#include "core/io/gguf_checkpoint.h"
#include "core/model/default_vlm.h"
#include "core/model/vlm.h"

namespace ps {
namespace fs = std::filesystem;

DefaultVlmTrainingResult train_default_vlm(const DefaultVlmTrainingOptions& opt, const JobControl& job) {
    const auto start = std::chrono::steady_clock::now();
    const LabelledImages train = load_fashion_mnist(opt.data_dir, "train");
    const LabelledImages test = load_fashion_mnist(opt.data_dir, "test");
    DefaultModelSpec spec;
    const NamedTensors vision = load_default_trainables(opt.vision_resources_dir, &spec);
    const std::string init_dir = opt.work_dir + "/init", state = opt.work_dir + "/state.safetensors";
    fs::create_directories(opt.work_dir);
    if (!fs::exists(init_dir)) {  // made from the seed; kept for a resumed run
        const int64_t text_hidden = gguf_checkpoint_config(*GgufFile::open(opt.gguf_path)).at("hidden_size").get<int64_t>();
        write_default_vlm_checkpoint(init_dir, opt.gguf_path, vision, spec,
                                     init_default_projector(spec, text_hidden, opt.projector.seed));
    }
    auto model = Vlm::load(init_dir);

    DefaultVlmTrainingResult r;
    ProjectorTrainingOptions p = opt.projector;
    p.state_path = state;
    r.training = train_projector(*model, train, p, job);
    for (VqaKind kind : {VqaKind::Open, VqaKind::YesNo, VqaKind::Choice})
        r.evaluation.push_back(evaluate_vqa(*model, fashion_mnist_vqa(test, kind, opt.eval_limit), VqaEvalOptions{}, job).metrics);
    r.minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;

    double tail = 0;
    const size_t last = std::min<size_t>(50, r.training.losses.size());
    for (size_t i = r.training.losses.size() - last; i < r.training.losses.size(); ++i) tail += r.training.losses[i] / last;
    nlohmann::json evaluation = nlohmann::json::array();
    for (const auto& e : r.evaluation) evaluation.push_back(e.to_json());
    nlohmann::json mix = nlohmann::json::object();
    for (const auto& [kind, share] : p.mix) mix[question_kind_name(kind)] = share;
    const nlohmann::json manifest = {
        {"vision_tower", "the default dual encoder's Fashion-MNIST ViT (resources/default-model), frozen"},
        {"language_model", fs::path(opt.gguf_path).filename().string() + ", dequantised, frozen"},
        {"data", "Fashion-MNIST, Debian package dataset-fashion-mnist"},
        {"training",
         {{"seed", p.seed}, {"steps", p.steps}, {"batch_size", p.batch_size}, {"lr", p.lr}, {"warmup_steps", p.warmup_steps},
          {"mix", mix}, {"mean_loss_last_50", tail}, {"minutes", r.minutes}, {"threads", at::get_num_threads()},
          {"resumed_from_step", r.training.resumed_from},
          {"losses_from_resumed_step", r.training.losses}}},
        {"evaluation", evaluation},
    };
    fs::create_directories(opt.out_dir);
    save_safetensors(opt.out_dir + "/projector.safetensors", r.training.trained, {{"format", "pt"}});
    write_file_atomic(opt.out_dir + "/manifest.json", manifest.dump(2) + "\n");
    fs::remove_all(init_dir);  // what this run made there, and the folder when nothing else is in it
    fs::remove(state);
    std::error_code ec;
    fs::remove(opt.work_dir, ec);
    return r;
}

}  // namespace ps
