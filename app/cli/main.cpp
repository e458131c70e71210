// prunestudio-cli: the headless front end over core, for scripts and clusters.
#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "core/data/caption_folder.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/data/prompts.h"
#include "core/error.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/data/vqa_file.h"
#include "core/eval/llava_answers.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/linear_probe.h"
#include "core/eval/logit_kl.h"
#include "core/eval/retrieval.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/job/default_training.h"
#include "core/job/default_vlm_training.h"
#include "core/job/heatmap_session.h"
#include "core/job/plan_model.h"
#include "core/job/prune_run.h"
#include "core/job/recover_run.h"
#include "core/job/run_score.h"
#include "core/job/sweep.h"
#include "core/job_control.h"
#include "core/model/default_model.h"
#include "core/model/default_vlm.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/causal_vlm.h"
#include "core/model/model_map.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/catalog.h"
#include "core/prune/depth.h"
#include "core/prune/pipeline.h"
#include "core/prune/plugins.h"
#include "core/prune/registry.h"
#include "core/report/export.h"
#include "core/report/html_report.h"
#include "core/report/model_summary.h"
#include "core/report/sweep_curves.h"
#include "core/report/token_heatmap.h"
#include "core/runtime.h"
#include "core/token/token_method.h"
#include "core/token/token_pruning.h"

namespace {

const char* kUsage =
    "usage: prunestudio-cli <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect DIR [--json]     family, parameters per modality and every Linear of a checkpoint (DIR: a\n"
    "                           checkpoint folder, or a .gguf file, dequantised to float32 on load)\n"
    "  run DIR --text TEXT... [--image FILE...] [--device D] [--dtype T] [--streaming] [--max-new-tokens N]\n"
    "                           dual encoders: similarity logits of every image with every text;\n"
    "                           generative models: the answer to one question (--text), about one image\n"
    "                           when given, in the checkpoint's chat format\n"
    "  eval DIR [--task T]... [--data fashion-mnist|FOLDER|QUESTIONS.jsonl] [--reference DIR] [--limit N]\n"
    "           [--batch N] [--plan PLAN.json] [--device D] [--dtype T] [--json]\n"
    "                           dual encoders: T: zero-shot, retrieval, kl (against the dense --reference),\n"
    "                           linear-probe, all (default: zero-shot, retrieval); FOLDER: images with\n"
    "                           captions.jsonl; --plan: run with the Plan's token pruning.\n"
    "           generative models: [--images DIR] [--annotations FILE] [--answers OUT.jsonl]\n"
    "           [--max-new-tokens N] [--likelihood-only] [--prompt-suffix TEXT]\n"
    "                           VQA-style questions answered greedily in the model's chat format with LLaVA's\n"
    "                           prompt suffix (open and yes-no: TEXT, \"\" for none); T: open (VQA accuracy with ten answers, else exact match),\n"
    "                           yes-no (POPE's F1, accuracy, precision, recall, yes-ratio; MME's acc and acc+\n"
    "                           for pairs per image), choice (letter and option likelihood), all; every task\n"
    "                           also the reference answer's NLL, and with --reference the KL to the dense\n"
    "                           model on it. Built in: Fashion-MNIST questions on N test images (yes-no with\n"
    "                           POPE's random, popular and adversarial negatives); else a LLaVA question\n"
    "                           jsonl (answers inline or in --annotations) or a vqa.jsonl (docs/vqa_format.md),\n"
    "                           images relative to --images (default: its folder), N its first questions.\n"
    "                           --answers writes LLaVA's answer jsonl for the official scorers; --plan: the\n"
    "                           Plan's run-time token pruning (a token method, or blocks by hand)\n"
    "  tokens DIR --image FILE --out HEAT.png [--layer L] [--metric cls|received|cim|text] [--keep R]\n"
    "         [--text QUESTION] [--colormap C] [--device D] [--dtype T]\n"
    "                           token-importance heatmap of one image at block L of the vision tower (text:\n"
    "                           the decoder's layer L, attention of the prompt's last token; default metric\n"
    "                           cls, or received without a [CLS] token; Qwen-VL: one cell per merged\n"
    "                           token); --keep marks the tokens run-time pruning at that keep ratio drops\n"
    "  prune --plan PLAN.json --out DIR [--model DIR] [--device D] [--dtype T] [--streaming]\n"
    "                           prune a checkpoint as the Plan says (a method and allocation of `methods`;\n"
    "                           unstructured or N:M); writes the pruned checkpoint, masks and result.json.\n"
    "                           Method width removes attention heads / MLP channels, depth whole blocks:\n"
    "                           a smaller checkpoint with its config rewritten (width.json / depth.json);\n"
    "                           method comp prunes heads, channels and tokens jointly to the Plan's FLOPs\n"
    "                           target (the token pruning reached goes into the written plan.json)\n"
    "  sweep --plan PLAN.json --out DIR [--methods M,M...] [--patterns P,P...] [--sparsities A:B:STEP|S,S...]\n"
    "        [--vision S..] [--language S..] [--sensitivity] [--keeps K,K...] [--token-methods T,T...]\n"
    "        [--limit N] [--model DIR]\n"
    "        [--task T] [--metric M] [--device D] [--dtype T]\n"
    "                           prune and score every point of a grid of Plans (dual encoders: zero-shot\n"
    "                           top-1; generative models: task T of eval on the built-in questions, open,\n"
    "                           yes-no or choice, scored by its metric M, e.g. exact_match, f1,\n"
    "                           letter_accuracy, answer_nll; default: the Plan's \"evaluation\" section,\n"
    "                           else open and its headline): methods x\n"
    "                           patterns x sparsities (x token methods x keep ratios, or keep ratios of the\n"
    "                           Plan's own token pruning), or\n"
    "                           --vision x --language sparsities, or (--sensitivity) each block alone at the\n"
    "                           Plan's sparsity (the table allocation kind \"sensitivity\" reads); each point is\n"
    "                           cached in DIR/cache, so a rerun or an added point runs only what is new. Writes\n"
    "                           DIR/sweep.json, DIR/curves.png (accuracy vs sparsity per method),\n"
    "                           DIR/pareto.png (accuracy vs nonzero parameters) and, when tokens are pruned,\n"
    "                           DIR/pareto_flops.png (accuracy vs FLOPs per sample); with token methods\n"
    "                           DIR/tokens.png and DIR/tokens_time.png (accuracy vs image tokens and vs\n"
    "                           measured prefill time per prompt)\n"

    "  export RUN_DIR --out DIR [--dtype bfloat16|float16] [--force]\n"
    "                           a pruned / recovered run folder as a Hugging Face checkpoint: one\n"
    "                           model.safetensors (metadata: method, pattern), config and tokenizer files,\n"
    "                           prunestudio_masks.safetensors, plan.json and result.json; atomic\n"
    "  report RUN_DIR --out REPORT.html [--sweep DIR] [--limit N] [--heatmaps N] [--questions N]\n"
    "                           one self-contained HTML report of a run (Plan, per-layer table, accuracy\n"
    "                           dense vs pruned on N test images; a generative model's Plan evaluation task\n"
    "                           on --questions test images (default 100), both models' metrics and answers\n"
    "                           side by side; a sweep's curves, token heatmaps, measured latency, timings,\n"
    "                           machine) and report.json beside it\n"
    "  score RUN_DIR [--images N] [--kl-samples N]\n"
    "                           what the app shows after a prune: a dual encoder's zero-shot top-1 on N\n"
    "                           test images (default 1000), the run's and its dense checkpoint's; a\n"
    "                           decoder's mean next-token KL to its dense model on up to N calibration\n"
    "                           prompts (default 16). Kept in RUN_DIR/score.json and read from there\n"
    "  allocate --plan PLAN.json --out PLAN2.json [--model DIR] [--device D] [--dtype T]\n"
    "                           the Plan's allocation step alone: sparsity per block, and PLAN2.json with\n"
    "                           the {tensor: sparsity} result as overrides, to edit and prune with\n"
    "  recover --plan PLAN.json --out DIR [--pruned DIR] [--state FILE] [--model DIR] [--device D] [--dtype T]\n"
    "                           recovery training of a pruned model as the Plan's \"recovery\" section says\n"
    "                           (SparseLoRA, plain LoRA, full with the mask fixed, projector only) with\n"
    "                           distillation from the dense --model; --pruned (else recovery.pruned) is a\n"
    "                           pruned checkpoint with masks, else the Plan prunes first; --state makes it\n"
    "                           resumable (rerun after a stop). Writes the merged checkpoint and result.json.\n"
    "                           Data-parallel when launched as several processes (RANK, WORLD_SIZE,\n"
    "                           MASTER_ADDR, MASTER_PORT as torchrun sets them, or Slurm's SLURM_PROCID,\n"
    "                           SLURM_NTASKS): batch_size per process, gradients averaged over Gloo\n"
    "  prune-depth DIR --out OUT --tower vision|text|language --blocks N [--samples N] [--data D]\n"
    "              [--device D] [--dtype T] [--streaming]\n"
    "                           the Plan method depth for one tower: drop its N blocks of lowest Block\n"
    "                           Influence (ShortGPT)\n"
    "  train-default [--epochs N] [--seed N] [--batch N] [--lr X] [--max-steps N] [--out DIR]\n"
    "                [--work DIR] [--data DIR] [--text-tower DIR] [--eval-limit N]\n"
    "                           train the default dual encoder's vision tower (resumable: rerun after a stop)\n"
    "  train-default --generative [--steps N] [--seed N] [--batch N] [--lr X] [--out DIR] [--work DIR]\n"
    "                [--data DIR] [--resources DIR] [--gguf FILE] [--eval-limit N]\n"
    "                           align the generative default's projector LLaVA-style (vision tower and\n"
    "                           SmolLM2 frozen) and score it with open, yes/no and multiple-choice\n"
    "                           questions on N test images (-1: all); resumable\n"
    "  assemble-default DIR [--resources DIR] [--text-tower DIR]\n"
    "                           write the default dual encoder as a Hugging Face checkpoint folder\n"
    "  assemble-default DIR --generative [--resources DIR] [--vlm-resources DIR] [--gguf FILE]\n"
    "                           write the generative default (LLaVA: the ViT, the trained projector,\n"
    "                           SmolLM2) as a Hugging Face checkpoint folder\n"
    "  make-demo DIR [--seed N] write the small built-in demo checkpoint (LLaVA layout) to DIR\n"
    "  methods                  pruning methods and allocations a Plan can name, built in or from plugins,\n"
    "                           with each method's options (its Plan section): type, range, default, help,\n"
    "                           and the token methods of its tokens section\n"
    "                           (loaded from PRUNESTUDIO_PLUGIN_PATH, else the plugins folder of the build)\n"
    "  version                  versions and compute device\n";

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "prunestudio-cli: %s\n%s", msg.c_str(), kUsage);
    return 2;
}

// Ctrl-C cancels the running job; the work stops at its next check and leaves no partial files.
const ps::JobControl* g_job = nullptr;
void on_interrupt(int) {
    if (g_job) g_job->cancel();
}

// Whether stderr's last line is a progress line still open (no newline after it yet).
bool g_progress_open = false;

// Ends an open progress line, so that what follows starts on a line of its own.
void end_progress_line() {
    if (g_progress_open) std::fputc('\n', stderr);
    g_progress_open = false;
}

// The job of this process: progress on stderr, one line per stage rewritten in place while the
// stage runs; Ctrl-C cancels it.
const ps::JobControl& console_job() {
    static const ps::JobControl job = [] {
        ps::JobControl j;
        auto last = std::make_shared<std::pair<std::string, int>>("", -1);
        j.on_progress = [last](const ps::Progress& p) {
            const int percent = p.total > 0 ? static_cast<int>(100 * p.done / p.total) : 0;
            if (p.stage == last->first && percent == last->second && p.done != p.total) return;
            if (p.stage != last->first) end_progress_line();
            *last = {p.stage, percent};
            std::fprintf(stderr, "\r%s: %lld/%lld %s", p.stage.c_str(), static_cast<long long>(p.done),
                         static_cast<long long>(p.total), p.detail.c_str());
            g_progress_open = true;
            std::fflush(stderr);
        };
        return j;
    }();
    g_job = &job;
    std::signal(SIGINT, on_interrupt);
    return job;
}

ps::LoadOptions load_options(const Args& a) {
    ps::LoadOptions opt;
    opt.device = a.value("--device", opt.device);
    opt.dtype = a.value("--dtype", opt.dtype);
    opt.streaming = a.flag("--streaming");
    opt.sparse_kernels = true;  // inference: 2:4 Linears take the semi-structured kernels on CUDA
    return opt;
}

int cmd_inspect(const std::vector<std::string>& argv) {
    const Args a("inspect", argv, {"--json"}, {});
    const ps::ModelMap map = ps::inspect_checkpoint(a.positional(1, 1, "checkpoint folder")[0]);
    if (a.flag("--json")) std::cout << ps::model_map_json(map).dump(2) << "\n";
    else std::cout << ps::model_map_text(map);
    return 0;
}

int cmd_run(const std::vector<std::string>& argv) {
    const Args a("run", argv, {"--streaming"}, {"--image", "--text", "--device", "--dtype", "--max-new-tokens"});
    const std::string dir = a.positional(1, 1, "checkpoint folder")[0];
    const std::vector<std::string> images = a.values("--image"), texts = a.values("--text");
    const int64_t max_new_tokens = a.integer("--max-new-tokens", 32, 0);
    if (texts.empty()) a.fail("needs --text");

    auto model = ps::Vlm::load(dir, load_options(a));
    const ps::Processor processor(*model);
    std::vector<cv::Mat> pictures;
    for (const auto& path : images) pictures.push_back(ps::load_image(path));

    if (const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get())) {
        if (pictures.size() > 1 || texts.size() != 1) a.fail("a generative model takes one --text and at most one --image");
        const auto ids = causal->generate(processor.chat(pictures.empty() ? cv::Mat() : pictures[0], texts[0]),
                                          static_cast<int>(max_new_tokens), processor.tokenizer().eos_id());
        std::cout << processor.tokenizer().decode(ids) << "\n";
        return 0;
    }
    if (images.empty()) a.fail("needs --image and --text");
    const ps::VlmOutputs out = model->forward(processor.dual_encoder(pictures, texts));
    const at::Tensor logits = out.logits_per_image.to(at::kCPU, at::kDouble);
    const at::Tensor probs = logits.softmax(1);
    std::printf("%-40s", "logits_per_image (softmax over texts)");
    for (size_t t = 0; t < texts.size(); ++t) std::printf("  text %-12zu", t);
    std::printf("\n");
    for (size_t i = 0; i < images.size(); ++i) {
        std::printf("%-40s", images[i].substr(images[i].size() > 40 ? images[i].size() - 40 : 0).c_str());
        for (size_t t = 0; t < texts.size(); ++t)
            std::printf("  %9.4f (%4.2f)", logits[i][t].item<double>(), probs[i][t].item<double>());
        std::printf("\n");
    }
    for (size_t t = 0; t < texts.size(); ++t) std::printf("text %zu: %s\n", t, texts[t].c_str());
    return 0;
}

const char* const kGenerativeTasks[] = {"open", "yes-no", "choice"};

// A generative model: VQA-style questions (the built-in Fashion-MNIST set, or a user's question
// file) answered greedily in the model's chat format, with the reference answers' likelihoods.
int eval_generative(const Args& a, ps::Vlm& model, std::vector<std::string> tasks, const ps::LoadOptions& load) {
    const std::string data = a.value("--data", "fashion-mnist");
    const bool builtin = data == "fashion-mnist";
    if (tasks == std::vector<std::string>{"all"} || (builtin && tasks.empty())) tasks = {"open", "yes-no", "choice"};
    for (const auto& t : tasks)
        if (std::find(std::begin(kGenerativeTasks), std::end(kGenerativeTasks), t) == std::end(kGenerativeTasks))
            a.fail("task " + t + " is for dual encoders (generative models: open, yes-no, choice)");
    if (!builtin && tasks.size() > 1) a.fail("a question file is one task; give at most one --task (else it is read from the file)");
    if (builtin && (a.flag("--images") || a.flag("--annotations"))) a.fail("--images and --annotations go with a question file (--data FILE)");
    if (a.flag("--answers") && tasks.size() > 1) a.fail("--answers writes one task's answers; give one --task");
    ps::VqaEvalOptions opt;
    opt.batch_size = a.integer("--batch", opt.batch_size, 1);
    opt.max_new_tokens = static_cast<int>(a.integer("--max-new-tokens", 0, 0));
    opt.generate = !a.flag("--likelihood-only");
    opt.open_suffix = a.value("--prompt-suffix", opt.open_suffix);
    std::unique_ptr<ps::Vlm> dense;
    if (a.flag("--reference")) {
        dense = ps::Vlm::load(a.value("--reference", ""), load);
        opt.dense = dense.get();
    }
    const int64_t limit = a.integer("--limit", -1, 1);
    std::vector<ps::VqaSet> sets;
    if (builtin) {
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        for (const auto& t : tasks) sets.push_back(ps::fashion_mnist_vqa(test, *ps::vqa_kind_from_name(t), limit));
    } else {
        ps::VqaFileOptions file;
        file.image_folder = a.value("--images", "");
        file.annotations = a.value("--annotations", "");
        if (!tasks.empty()) file.kind = ps::vqa_kind_from_name(tasks[0]);
        sets.push_back(ps::load_vqa_file(data, file));
        if (limit > 0 && static_cast<int64_t>(sets[0].items.size()) > limit) sets[0].items.resize(static_cast<size_t>(limit));
    }
    const ps::JobControl& job = console_job();
    nlohmann::json all = nlohmann::json::array();
    for (const ps::VqaSet& set : sets) {
        const ps::VqaEvalResult r = ps::evaluate_vqa(model, set, opt, job);
        end_progress_line();
        if (a.flag("--answers"))
            ps::write_file_atomic(a.value("--answers", ""), ps::llava_answers_jsonl(set, r.records, std::filesystem::path(model.map().dir).filename().string()));
        const std::string headline = r.metrics.metrics.empty() ? "" : r.metrics.metrics.front().first;
        if (a.flag("--json")) {
            nlohmann::json j = r.metrics.to_json();
            j["headline"] = headline;
            j["data"] = set.name;
            j["prompt"] = r.records.empty() ? "" : r.records[0].prompt;
            nlohmann::json examples = nlohmann::json::array();
            for (size_t i = 0; i < std::min<size_t>(5, r.records.size()); ++i)
                examples.push_back({{"question_id", set.items[i].question_id}, {"prompt", r.records[i].prompt},
                                    {"reference", set.items[i].answers}, {"answer", r.records[i].answer}, {"score", r.records[i].score}});
            j["examples"] = examples;
            all.push_back(j);
        } else {
            std::cout << r.metrics.to_text() << "  on " << set.items.size() << " questions of " << set.name
                      << "; the first asked as:\n    " << (r.records.empty() ? "" : r.records[0].prompt) << "\n";
            for (size_t i = 0; i < std::min<size_t>(3, r.records.size()); ++i)
                std::cout << "  Q: " << set.items[i].question.substr(0, set.items[i].question.find('\n')) << "  A: " << r.records[i].answer
                          << "  (reference " << set.items[i].answers[0] << ")\n";
        }
    }
    if (a.flag("--json")) std::cout << all.dump(2) << "\n";
    return 0;
}

int cmd_eval(const std::vector<std::string>& argv) {
    const Args a("eval", argv, {"--json", "--streaming", "--likelihood-only"},
                 {"--task", "--data", "--reference", "--limit", "--batch", "--plan", "--device", "--dtype", "--images",
                  "--annotations", "--answers", "--max-new-tokens", "--prompt-suffix"});
    const std::string dir = a.positional(1, 1, "checkpoint folder")[0];
    std::vector<std::string> tasks = a.values("--task");
    // Names no model has are refused before loading; which apply is checked once the model is known.
    const std::vector<std::string> dual_tasks = {"zero-shot", "retrieval", "kl", "linear-probe"};
    for (const auto& t : tasks) {
        bool known = t == "all" || std::find(dual_tasks.begin(), dual_tasks.end(), t) != dual_tasks.end();
        for (const char* g : kGenerativeTasks) known = known || t == g;
        if (!known) a.fail("unknown task " + t);
    }
    const ps::LoadOptions load = load_options(a);
    auto model = ps::Vlm::load(dir, load);
    if (a.flag("--plan")) ps::install_token_pruning(*model, ps::TokenPruning::from_plan(ps::Plan::load(a.value("--plan", "")).tokens, *model));
    if (model->capabilities().generative()) return eval_generative(a, *model, tasks, load);
    for (const char* o : {"--images", "--annotations", "--answers", "--max-new-tokens", "--likelihood-only", "--prompt-suffix"})
        if (a.flag(o)) a.fail(std::string(o) + " is for generative models");
    if (tasks.empty()) tasks = {"zero-shot", "retrieval"};
    if (tasks == std::vector<std::string>{"all"}) {
        tasks = {"zero-shot", "retrieval", "linear-probe"};
        if (a.flag("--reference")) tasks.push_back("kl");
    }
    for (const auto& t : tasks)
        if (std::find(dual_tasks.begin(), dual_tasks.end(), t) == dual_tasks.end())
            a.fail("task " + t + " is for generative models (dual encoders: zero-shot, retrieval, kl, linear-probe)");
    const std::string data = a.value("--data", "fashion-mnist");
    const int64_t limit = a.integer("--limit", -1, 1);
    ps::EvalOptions opt;
    opt.batch_size = a.integer("--batch", opt.batch_size, 1);

    const ps::ImageProcessorConfig cfg = ps::Processor(*model).image_config();
    const bool builtin = data == "fashion-mnist";
    const ps::EvalSet set =
        builtin ? ps::labelled_eval_set("fashion-mnist test", ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test"), cfg,
                                        ps::zero_shot_templates(), limit)
                : ps::caption_eval_set(ps::load_caption_folder(data), cfg);
    std::unique_ptr<ps::Vlm> reference;

    const ps::JobControl& job = console_job();
    nlohmann::json all = nlohmann::json::array();
    for (const auto& task : tasks) {
        ps::EvalResult r;
        if (task == "zero-shot") r = ps::zero_shot(*model, set, opt, job);
        else if (task == "retrieval") r = ps::retrieval(*model, set, opt, job);
        else if (task == "kl") {
            if (!a.flag("--reference")) a.fail("kl needs --reference DIR (the dense model)");
            if (!reference) reference = ps::Vlm::load(a.value("--reference", ""), load);
            r = ps::logit_kl(*model, *reference, set, opt, job);
        } else {
            if (!builtin) a.fail("linear-probe runs on the built-in Fashion-MNIST data only");
            const ps::EvalSet train = ps::labelled_eval_set("fashion-mnist train",
                                                            ps::load_fashion_mnist(ps::fashion_mnist_dir(), "train"), cfg,
                                                            ps::zero_shot_templates(), limit);
            r = ps::linear_probe(*model, train, set, opt, job);
        }
        end_progress_line();
        if (a.flag("--json")) all.push_back(r.to_json());
        else std::cout << r.to_text();
    }
    if (a.flag("--json")) std::cout << all.dump(2) << "\n";
    return 0;
}

// The Plan of --plan with --model / --device / --dtype / --streaming applied, and its model loaded.
struct PlanRun {
    ps::Plan plan;
    std::unique_ptr<ps::Vlm> model;
};

ps::Plan plan_of(const Args& a) {
    if (!a.flag("--plan") || !a.flag("--out")) a.fail("needs --plan and --out");
    ps::Plan plan = ps::Plan::load(a.value("--plan", ""));
    plan.model = a.value("--model", plan.model);
    plan.device = a.value("--device", plan.device);
    plan.dtype = a.value("--dtype", plan.dtype);
    plan.streaming = plan.streaming || a.flag("--streaming");
    if (plan.model.empty()) a.fail("the plan names no model; give --model DIR");
    return plan;
}

PlanRun load_plan_run(const Args& a) {
    PlanRun r;
    r.plan = plan_of(a);
    r.model = ps::load_plan_model(r.plan);
    return r;
}

// The allocation step of a sparse Plan: the start map, then the Plan's allocator on calibration data.
ps::SparsityMap run_allocation(ps::Vlm& model, const ps::Plan& plan, const std::vector<ps::VlmInputs>& batches) {
    ps::SparsityMap allocation = ps::plan_allocation(model, plan, batches, console_job());
    end_progress_line();
    return allocation;
}

int cmd_allocate(const std::vector<std::string>& argv) {
    const Args a("allocate", argv, {"--streaming"}, {"--plan", "--out", "--model", "--device", "--dtype"});
    a.positional(0, 0, "");
    PlanRun r = load_plan_run(a);
    if (r.plan.method == "width" || r.plan.method == "depth") a.fail("method " + r.plan.method + " acts on whole towers; it has no per-tensor allocation");
    const std::string out = a.value("--out", "");
    const auto batches = ps::calibration_batches(*r.model, r.plan.calibration, r.plan.seed);
    const ps::SparsityMap allocation = run_allocation(*r.model, r.plan, batches);
    // Per block: parameter-weighted sparsity of its targeted Linears.
    std::map<std::pair<int, std::string>, std::pair<double, double>> blocks;  // (modality, block path) -> (pruned, params)
    for (const ps::LinearLayer& l : r.model->map().linears) {
        auto it = allocation.find(l.name);
        if (it == allocation.end()) continue;
        auto& b = blocks[{static_cast<int>(l.modality), l.group}];
        b.first += it->second * static_cast<double>(l.params());
        b.second += static_cast<double>(l.params());
    }
    std::printf("%s allocation of %s, %zu Linears:\n", r.plan.allocation.kind.c_str(), r.plan.model.c_str(), allocation.size());
    double pruned = 0, params = 0;
    for (const auto& [key, b] : blocks) {
        std::printf("  %-10s %-44s %.4f\n", ps::modality_name(static_cast<ps::Modality>(key.first)), key.second.c_str(), b.first / b.second);
        pruned += b.first;
        params += b.second;
    }
    std::printf("  %-55s %.4f\n", "total", params > 0 ? pruned / params : 0.0);
    ps::Plan fixed = r.plan;  // the result as per-tensor overrides of a uniform Plan: edit it, then prune with it
    fixed.allocation = ps::AllocationOptions{};
    fixed.overrides = allocation;
    fixed.save(out);
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

int cmd_prune(const std::vector<std::string>& argv) {
    const Args a("prune", argv, {"--streaming"}, {"--plan", "--out", "--model", "--device", "--dtype"});
    a.positional(0, 0, "");
    const ps::PruneRunSummary s = ps::run_prune(plan_of(a), a.value("--out", ""), console_job());
    end_progress_line();
    std::cout << s.text << "wrote " << s.out_dir << "\n";
    return 0;
}

// "a:b:step" (both ends included) or "a,b,c".
std::vector<double> parse_values(const Args& a, const std::string& flag) {
    const std::string v = a.value(flag, "");
    std::vector<double> out;
    auto number = [&](const std::string& t) {
        size_t used = 0;
        double x = 0;
        try {
            x = std::stod(t, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (t.empty() || used != t.size()) a.fail(flag + " needs A:B:STEP or a comma-separated list of numbers, not \"" + v + "\"");
        return x;
    };
    if (std::count(v.begin(), v.end(), ':') == 2) {
        const size_t c1 = v.find(':'), c2 = v.find(':', c1 + 1);
        const double from = number(v.substr(0, c1)), to = number(v.substr(c1 + 1, c2 - c1 - 1)), step = number(v.substr(c2 + 1));
        if (!(step > 0) || to < from) a.fail(flag + " needs A <= B and STEP > 0");
        for (int64_t i = 0; from + i * step <= to + step * 1e-9; ++i) out.push_back(std::round((from + i * step) * 1e9) / 1e9);
        return out;
    }
    std::stringstream ss(v);
    for (std::string t; std::getline(ss, t, ',');) out.push_back(number(t));
    return out;
}

int cmd_sweep(const std::vector<std::string>& argv) {
    const Args a("sweep", argv, {"--sensitivity"},
                 {"--plan", "--out", "--methods", "--patterns", "--sparsities", "--vision", "--language", "--keeps", "--token-methods", "--limit",
                  "--model", "--device", "--dtype", "--task", "--metric"});
    a.positional(0, 0, "");
    if (!a.flag("--plan") || !a.flag("--out")) a.fail("needs --plan and --out");
    ps::Plan plan = ps::Plan::load(a.value("--plan", ""));
    plan.model = a.value("--model", plan.model);
    plan.device = a.value("--device", plan.device);
    plan.dtype = a.value("--dtype", plan.dtype);
    if (plan.model.empty()) a.fail("the plan names no model; give --model DIR");
    ps::SweepSpec spec;
    if (a.flag("--methods")) {
        std::stringstream ss(a.value("--methods", ""));
        for (std::string m; std::getline(ss, m, ',');) spec.methods.push_back(m);
    }
    if (a.flag("--patterns")) {
        std::stringstream ss(a.value("--patterns", ""));
        for (std::string p; std::getline(ss, p, ',');) spec.patterns.push_back(p);
    }
    if (a.flag("--sparsities")) spec.sparsities = parse_values(a, "--sparsities");
    if (a.flag("--vision")) spec.vision = parse_values(a, "--vision");
    if (a.flag("--language")) spec.language = parse_values(a, "--language");
    if (a.flag("--keeps")) spec.keeps = parse_values(a, "--keeps");
    if (a.flag("--token-methods")) {
        std::stringstream ss(a.value("--token-methods", ""));
        for (std::string m; std::getline(ss, m, ',');) spec.token_methods.push_back(m);
    }
    spec.sensitivity = a.flag("--sensitivity");
    spec.eval_limit = a.integer("--limit", -1, 1);
    plan.evaluation.task = a.value("--task", plan.evaluation.task);
    plan.evaluation.metric = a.value("--metric", plan.evaluation.metric);
    const std::string out = a.value("--out", "");
    const ps::SweepResult r = ps::run_sweep(plan, spec, out + "/cache", console_job());
    end_progress_line();
    ps::write_file_atomic(out + "/sweep.json", r.to_json().dump(2) + "\n");
    std::cout << r.to_text();
    const std::string model_name = plan.model.substr(plan.model.find_last_of('/') + 1);
    std::string wrote = out + "/sweep.json";
    auto chart = [&](const cv::Mat& img, const std::string& file) {
        if (img.empty()) return;
        ps::write_png(out + "/" + file, img);
        wrote += ", " + out + "/" + file;
    };
    chart(ps::render_sweep_curves(r, r.metric_label() + " vs sparsity: " + model_name), "curves.png");
    chart(ps::render_pareto(r, ps::ParetoCost::Params, r.metric_label() + " vs nonzero parameters: " + model_name), "pareto.png");
    if (r.tokens_pruned())
        chart(ps::render_pareto(r, ps::ParetoCost::Flops, r.metric_label() + " vs FLOPs per sample: " + model_name), "pareto_flops.png");
    chart(ps::render_token_curves(r, ps::TokenCost::ImageTokens, r.metric_label() + " vs image tokens: " + model_name), "tokens.png");
    chart(ps::render_token_curves(r, ps::TokenCost::PrefillTime, r.metric_label() + " vs prefill time: " + model_name), "tokens_time.png");
    std::cout << "wrote " << wrote << "\n";
    return 0;
}

int cmd_export(const std::vector<std::string>& argv) {
    const Args a("export", argv, {"--force"}, {"--out", "--dtype"});
    const std::string run = a.positional(1, 1, "run folder")[0];
    if (!a.flag("--out")) a.fail("needs --out");
    ps::ExportOptions opt;
    opt.dtype = a.value("--dtype", "");
    opt.force = a.flag("--force");
    const std::string out = a.value("--out", "");
    const ps::ExportSummary s = ps::export_checkpoint(run, out, opt, console_job());
    end_progress_line();
    std::printf("exported %lld tensors (%.2f MB%s), method %s, pattern %s%s to %s\n", static_cast<long long>(s.tensors),
                s.bytes / 1e6, opt.dtype.empty() ? "" : (", " + opt.dtype).c_str(), s.method.c_str(), s.pattern.c_str(),
                s.masks ? ", with masks" : "", out.c_str());
    return 0;
}

int cmd_report(const std::vector<std::string>& argv) {
    const Args a("report", argv, {}, {"--out", "--sweep", "--limit", "--heatmaps", "--questions"});
    const std::string run = a.positional(1, 1, "run folder")[0];
    if (!a.flag("--out")) a.fail("needs --out");
    ps::ReportOptions opt;
    opt.sweep_dir = a.value("--sweep", "");
    opt.eval_limit = a.integer("--limit", opt.eval_limit, 1);
    opt.heatmaps = static_cast<int>(a.integer("--heatmaps", opt.heatmaps, 0));
    opt.questions = a.integer("--questions", opt.questions, 1);
    const std::string out = a.value("--out", "");
    ps::write_report(run, out, opt, console_job());
    end_progress_line();
    std::printf("wrote %s and report.json\n", out.c_str());
    return 0;
}

int cmd_score(const std::vector<std::string>& argv) {
    const Args a("score", argv, {}, {"--images", "--kl-samples"});
    const std::string run = a.positional(1, 1, "run folder")[0];
    ps::ScoreOptions opt;
    opt.images = a.integer("--images", opt.images, 1);
    opt.kl_samples = a.integer("--kl-samples", opt.kl_samples, 1);
    const ps::RunScore s = ps::score_run(run, opt, console_job());
    end_progress_line();
    if (!s.unavailable.empty()) throw ps::Error("", s.unavailable);
    std::printf("%s%s\n", s.to_text().c_str(), s.cached ? " (from score.json)" : "");
    return 0;
}

int cmd_tokens(const std::vector<std::string>& argv) {
    const Args a("tokens", argv, {}, {"--image", "--out", "--layer", "--metric", "--keep", "--text", "--colormap", "--device", "--dtype"});
    const std::string dir = a.positional(1, 1, "checkpoint folder")[0];
    if (!a.flag("--image") || !a.flag("--out")) a.fail("needs --image and --out");
    const std::string out = a.value("--out", "");
    ps::HeatmapRequest r;
    r.image = a.value("--image", "");
    r.keep = a.number("--keep", 1.0);
    if (r.keep > 1.0) a.fail("--keep needs a ratio in (0, 1]");
    if (a.flag("--metric")) r.metric = ps::token_metric_name(ps::parse_token_metric(a.value("--metric", "")));
    r.block = static_cast<int>(a.integer("--layer", -1, 0));
    r.colormap = a.value("--colormap", r.colormap);
    r.text = a.value("--text", "");
    const ps::HeatmapSession session(dir, a.value("--device", "cpu"), a.value("--dtype", "float32"));
    if (!a.flag("--metric")) r.metric = session.metrics().front();  // cls, or received without a [CLS] token
    const int blocks = session.blocks(r.metric);
    if (r.block >= blocks)
        throw ps::Error("--layer", std::to_string(r.block) + " is outside 0.." + std::to_string(blocks - 1) + ", the blocks of the scored tower");
    ps::HeatmapImage h = session.render(r);
    ps::write_png(out, cv::Mat(h.height, h.width, CV_8UC3, h.rgb.data()));
    const auto [lo, hi] = std::minmax_element(h.grid.scores.begin(), h.grid.scores.end());
    std::printf("%s importance at %s block %d: %dx%d tokens, scores %.4g..%.4g", r.metric.c_str(), h.tower.c_str(), h.block,
                h.grid.rows, h.grid.cols, *lo, *hi);
    if (r.keep < 1.0)
        std::printf(", keep %.2f drops %lld", r.keep, static_cast<long long>(std::count(h.grid.dropped.begin(), h.grid.dropped.end(), 1)));
    std::printf("\nwrote %s\n", out.c_str());
    return 0;
}

int cmd_recover(const std::vector<std::string>& argv) {
    const Args a("recover", argv, {}, {"--plan", "--out", "--pruned", "--state", "--model", "--device", "--dtype"});
    a.positional(0, 0, "");
    ps::Plan plan = plan_of(a);
    plan.recovery.pruned = a.value("--pruned", plan.recovery.pruned);
    const ps::RecoverRunSummary s = ps::run_recover(plan, a.value("--out", ""), a.value("--state", ""), console_job());
    end_progress_line();
    if (s.rank > 0) {  // the training line only: rank 0 scores and writes
        std::cout << "rank " << s.rank << " of " << s.world_size << ": " << s.text.substr(0, s.text.find('\n') + 1)
                  << "rank 0 writes " << s.out_dir << "\n";
        return 0;
    }
    std::cout << s.text << "wrote " << s.out_dir << "\n";
    return 0;
}

// The Plan method "depth" for one tower: N of its blocks dropped, the others kept.
int cmd_prune_depth(const std::vector<std::string>& argv) {
    const Args a("prune-depth", argv, {"--streaming"}, {"--out", "--tower", "--blocks", "--samples", "--data", "--device", "--dtype"});
    const std::string dir = a.positional(1, 1, "checkpoint folder")[0];
    if (!a.flag("--out") || !a.flag("--tower") || !a.flag("--blocks")) a.fail("needs --out, --tower and --blocks");
    const std::string out = a.value("--out", ""), name = a.value("--tower", "");
    const ps::ModelMap map = ps::inspect_checkpoint(dir);
    const ps::Modality modality = name == "vision" ? ps::Modality::Vision
                                  : name == "text" || name == "language" ? ps::Modality::Language
                                                                         : ps::Modality::Other;
    int has = 0;  // blocks of the tower in the checkpoint
    for (const ps::LinearLayer& l : map.linears)
        if (l.modality == modality && l.block >= 0) has = std::max(has, l.block + 1);
    if (modality == ps::Modality::Other || has == 0) a.fail("--tower " + name + " is not a tower of this model (vision, text or language)");
    const int64_t blocks = a.integer("--blocks", 0, 1);
    if (blocks >= has) a.fail("--blocks " + std::to_string(blocks) + " leaves none of the tower's " + std::to_string(has) + " blocks");
    ps::Plan plan;
    plan.name = "prune-depth " + name + " " + std::to_string(blocks);
    plan.model = dir;
    plan.method = "depth";
    plan.pattern = "structured";
    plan.sparsity = 0;  // the other towers keep every block
    plan.allocation.kind = "modality";
    // floor(ratio · blocks of the tower) = N
    plan.allocation.modality[ps::modality_name(modality)] = (static_cast<double>(blocks) + 0.5) / has;
    plan.calibration.samples = a.integer("--samples", 32, 1);
    plan.calibration.data = a.value("--data", plan.calibration.data);
    plan.device = a.value("--device", plan.device);
    plan.dtype = a.value("--dtype", plan.dtype);
    plan.streaming = a.flag("--streaming");
    const ps::PruneRunSummary s = ps::run_prune(ps::Plan::from_json(plan.to_json(), "prune-depth"), out, console_job());
    end_progress_line();
    std::printf("%sdropped %lld of %d blocks; wrote %s\n", s.text.c_str(), static_cast<long long>(blocks), has, out.c_str());
    return 0;
}

int train_default_generative(const Args& a) {
    ps::DefaultVlmTrainingOptions opt;
    opt.projector.steps = a.integer("--steps", opt.projector.steps, 1);
    opt.projector.seed = static_cast<uint64_t>(a.integer("--seed", 0, 0));
    opt.projector.batch_size = a.integer("--batch", opt.projector.batch_size, 1);
    opt.projector.lr = a.number("--lr", opt.projector.lr);
    opt.out_dir = a.value("--out", ps::default_vlm_resources_dir());
    opt.work_dir = a.value("--work", opt.out_dir + ".work");
    opt.data_dir = a.value("--data", ps::fashion_mnist_dir());
    opt.vision_resources_dir = a.value("--resources", ps::default_model_resources_dir());
    opt.gguf_path = a.value("--gguf", ps::smollm2_gguf_path());
    opt.eval_limit = a.integer("--eval-limit", opt.eval_limit, -1);
    if (opt.eval_limit == 0) a.fail("--eval-limit must be -1 (all test images) or positive");

    const ps::JobControl& job = console_job();
    const ps::DefaultVlmTrainingResult r = ps::train_default_vlm(opt, job);
    end_progress_line();
    std::printf("aligned the projector in %lld steps (from step %lld) in %.1f min\n",
                static_cast<long long>(opt.projector.steps), static_cast<long long>(r.training.resumed_from), r.minutes);
    for (const auto& e : r.evaluation) std::cout << e.to_text();
    std::printf("wrote %s/projector.safetensors and manifest.json\n", opt.out_dir.c_str());
    return 0;
}

int cmd_train_default(const std::vector<std::string>& argv) {
    const Args a("train-default", argv, {"--generative"},
                 {"--epochs", "--steps", "--seed", "--batch", "--lr", "--max-steps", "--out", "--work", "--data",
                  "--text-tower", "--resources", "--gguf", "--eval-limit"});
    a.positional(0, 0, "");
    if (a.flag("--generative")) {
        for (const char* o : {"--epochs", "--max-steps", "--text-tower"})
            if (a.flag(o)) a.fail(std::string(o) + " is for the dual encoder; the generative default takes --steps");
        return train_default_generative(a);
    }
    for (const char* o : {"--steps", "--resources", "--gguf"})
        if (a.flag(o)) a.fail(std::string(o) + " is for the generative default (--generative)");
    ps::DefaultTrainingOptions opt;
    opt.lit.epochs = a.integer("--epochs", opt.lit.epochs, 1);
    opt.lit.seed = static_cast<uint64_t>(a.integer("--seed", 0, 0));
    opt.lit.batch_size = a.integer("--batch", opt.lit.batch_size, 2);
    opt.lit.lr = a.number("--lr", opt.lit.lr);
    opt.lit.max_steps = a.integer("--max-steps", -1, 1);
    opt.out_dir = a.value("--out", ps::default_model_resources_dir());
    opt.work_dir = a.value("--work", opt.out_dir + ".work");
    opt.data_dir = a.value("--data", ps::fashion_mnist_dir());
    opt.text_tower_dir = a.value("--text-tower", ps::default_text_tower_dir());
    opt.eval_limit = a.integer("--eval-limit", -1, 1);

    const ps::JobControl& job = console_job();
    const ps::DefaultTrainingResult r = ps::train_default_model(opt, job);
    end_progress_line();
    std::printf("trained %lld/%lld steps in %.1f min; zero-shot top-1 %.2f%%, linear probe %.2f%% (%lld test images)\n",
                static_cast<long long>(r.training.steps), static_cast<long long>(r.training.total_steps), r.minutes,
                r.zero_shot.value(), r.linear_probe.value(), static_cast<long long>(r.zero_shot.metric("images")));
    std::printf("wrote %s/vision.safetensors and manifest.json\n", opt.out_dir.c_str());
    return 0;
}

int cmd_assemble_default(const std::vector<std::string>& argv) {
    const Args a("assemble-default", argv, {"--generative"}, {"--resources", "--text-tower", "--vlm-resources", "--gguf"});
    const std::string dir = a.positional(1, 1, "output folder")[0];
    const std::string resources = a.value("--resources", ps::default_model_resources_dir());
    if (a.flag("--generative")) {
        ps::assemble_default_vlm(resources, a.value("--vlm-resources", ps::default_vlm_resources_dir()),
                                 a.value("--gguf", ps::smollm2_gguf_path()), dir);
        std::cout << "wrote the generative default model to " << dir << "\n";
        return 0;
    }
    ps::assemble_default_model(resources, a.value("--text-tower", ps::default_text_tower_dir()), dir);
    std::cout << "wrote the default model to " << dir << "\n";
    return 0;
}

int cmd_make_demo(const std::vector<std::string>& argv) {
    const Args a("make-demo", argv, {}, {"--seed"});
    const std::string dir = a.positional(1, 1, "output folder")[0];
    ps::write_demo_checkpoint(dir, static_cast<uint64_t>(a.integer("--seed", 0, 0)));
    std::cout << "wrote demo checkpoint to " << dir << "\n";
    return 0;
}

int cmd_methods(const std::vector<std::string>& argv) {
    const Args a("methods", argv, {}, {});
    a.positional(0, 0, "");
    const auto origin = [](const std::string& o) { return o == ps::kBuiltInOrigin ? o : "plugin " + o; };
    bool structured = false;
    std::printf("pruning methods (Plan \"method\"):\n");
    for (const ps::CatalogEntry& m : ps::method_catalog()) {
        if (m.structured && !structured) {
            std::printf("structured methods (Plan \"method\" with pattern \"structured\"):\n");
            structured = true;
        }
        std::printf("  %-20s %s: %s [%s]\n", m.id.c_str(), m.display.c_str(), m.description.c_str(), origin(m.origin).c_str());
        if (!m.options.empty()) std::printf("  %-20s options (Plan \"%s\"):\n", "", m.section.c_str());
        for (const ps::CatalogOption& o : m.options)
            std::printf("  %-20s   %-16s %s: %s\n", "", o.name.c_str(), o.kind.c_str(), o.help.c_str());
    }
    std::printf("allocations (Plan \"allocation.kind\"):\n");
    for (const ps::CatalogEntry& al : ps::allocation_catalog())
        std::printf("  %-20s %s: %s [%s]\n", al.id.c_str(), al.display.c_str(), al.description.c_str(), origin(al.origin).c_str());
    std::printf("token methods (Plan \"tokens.method\", with \"keep\"):\n");
    for (const ps::TokenMethod& m : ps::token_methods()) {
        const char* where = m.stage == ps::TokenStage::Vision ? "vision tower" : m.stage == ps::TokenStage::Language ? "language model"
                                                                                                                      : "before the language model";
        std::string options;
        for (const std::string& o : m.options) options += (options.empty() ? "" : ", ") + o;
        std::printf("  %-20s %s: %s [%s; attention maps: %s%s%s]\n", m.name.c_str(), m.display.c_str(), m.rule.c_str(), where,
                    m.attention.c_str(), m.merges ? "; merges tokens" : "", options.empty() ? "" : ("; options: " + options).c_str());
    }
    return 0;
}

int cmd_version() {
    const ps::RuntimeInfo r = ps::runtime_info();
    std::cout << "prunestudio " << PRUNESTUDIO_VERSION << "\ntorch " << r.torch_version << "\ndevice "
              << r.default_device;
    if (r.cuda_available) std::cout << " (" << r.cuda_devices << " CUDA device(s))";
    std::cout << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
    try {
        ps::load_default_plugins();
        if (cmd == "inspect") return cmd_inspect(args);
        if (cmd == "run") return cmd_run(args);
        if (cmd == "eval") return cmd_eval(args);
        if (cmd == "prune") return cmd_prune(args);
        if (cmd == "allocate") return cmd_allocate(args);
        if (cmd == "recover") return cmd_recover(args);
        if (cmd == "tokens") return cmd_tokens(args);
        if (cmd == "sweep") return cmd_sweep(args);
        if (cmd == "export") return cmd_export(args);
        if (cmd == "report") return cmd_report(args);
        if (cmd == "score") return cmd_score(args);
        if (cmd == "prune-depth") return cmd_prune_depth(args);
        if (cmd == "train-default") return cmd_train_default(args);
        if (cmd == "assemble-default") return cmd_assemble_default(args);
        if (cmd == "make-demo") return cmd_make_demo(args);
        if (cmd == "methods") return cmd_methods(args);
        if (cmd == "version" || cmd == "--version") return cmd_version();
        return usage_error("unknown command '" + cmd + "'");
    } catch (const UsageError& e) {
        return usage_error(e.what());
    } catch (const ps::Cancelled& e) {
        end_progress_line();
        std::fprintf(stderr, "%s\n", e.what());
        return 130;
    } catch (const std::exception& e) {  // ps::Error is one line; a torch error's first line says what went wrong
        end_progress_line();
        std::fprintf(stderr, "error: %s\n", ps::first_line(e).c_str());
        return 1;
    }
}
