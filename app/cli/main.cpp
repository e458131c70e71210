// prunestudio-cli: the headless front end over core, for scripts and clusters.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/error.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/llava.h"
#include "core/model/model_map.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/report/model_summary.h"
#include "core/runtime.h"

namespace {

const char* kUsage =
    "usage: prunestudio-cli <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect DIR [--json]     family, parameters per modality and every Linear of a checkpoint\n"
    "  run DIR --image FILE... --text TEXT... [--device D] [--dtype T] [--streaming] [--max-new-tokens N]\n"
    "                           dual encoders: similarity logits of every image with every text;\n"
    "                           LLaVA: the answer to one question (--text) about one image\n"
    "  make-demo DIR [--seed N] write the small built-in demo checkpoint (LLaVA layout) to DIR\n"
    "  version                  versions and compute device\n";

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "prunestudio-cli: %s\n%s", msg.c_str(), kUsage);
    return 2;
}

int cmd_inspect(const std::vector<std::string>& args) {
    std::string dir;
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json") json = true;
        else if (!a.empty() && a[0] == '-') return usage_error("inspect: unknown option " + a);
        else if (dir.empty()) dir = a;
        else return usage_error("inspect: one checkpoint folder expected");
    }
    if (dir.empty()) return usage_error("inspect: missing checkpoint folder");
    const ps::ModelMap map = ps::inspect_checkpoint(dir);
    if (json) std::cout << ps::model_map_json(map).dump(2) << "\n";
    else std::cout << ps::model_map_text(map);
    return 0;
}

int cmd_run(const std::vector<std::string>& args) {
    std::string dir;
    std::vector<std::string> images, texts;
    ps::LoadOptions opt;
    int max_new_tokens = 32;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool has_value = i + 1 < args.size();
        if (a == "--image" && has_value) images.push_back(args[++i]);
        else if (a == "--text" && has_value) texts.push_back(args[++i]);
        else if (a == "--device" && has_value) opt.device = args[++i];
        else if (a == "--dtype" && has_value) opt.dtype = args[++i];
        else if (a == "--streaming") opt.streaming = true;
        else if (a == "--max-new-tokens" && has_value) {
            try {
                max_new_tokens = std::stoi(args[++i]);
            } catch (const std::exception&) {
                return usage_error("run: --max-new-tokens needs an integer");
            }
        } else if (!a.empty() && a[0] == '-') return usage_error("run: unknown option or missing value: " + a);
        else if (dir.empty()) dir = a;
        else return usage_error("run: one checkpoint folder expected");
    }
    if (dir.empty() || images.empty() || texts.empty()) return usage_error("run: needs DIR, --image and --text");

    auto model = ps::Vlm::load(dir, opt);
    const ps::Processor processor(*model);
    std::vector<cv::Mat> pictures;
    for (const auto& path : images) pictures.push_back(ps::load_image(path));

    if (const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get())) {
        if (pictures.size() != 1 || texts.size() != 1) return usage_error("run: LLaVA takes one --image and one --text");
        const auto ids = causal->generate(processor.chat(pictures[0], texts[0]), max_new_tokens,
                                          processor.tokenizer().eos_id());
        std::cout << processor.tokenizer().decode(ids) << "\n";
        return 0;
    }
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

int cmd_make_demo(const std::vector<std::string>& args) {
    std::string dir;
    uint64_t seed = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--seed" && i + 1 < args.size()) {
            try {
                seed = std::stoull(args[++i]);
            } catch (const std::exception&) {
                return usage_error("make-demo: --seed needs a non-negative integer");
            }
        } else if (!args[i].empty() && args[i][0] == '-') return usage_error("make-demo: unknown option " + args[i]);
        else if (dir.empty()) dir = args[i];
        else return usage_error("make-demo: one output folder expected");
    }
    if (dir.empty()) return usage_error("make-demo: missing output folder");
    ps::write_demo_checkpoint(dir, seed);
    std::cout << "wrote demo checkpoint to " << dir << "\n";
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
    try {
        if (cmd == "inspect") return cmd_inspect(args);
        if (cmd == "run") return cmd_run(args);
        if (cmd == "make-demo") return cmd_make_demo(args);
        if (cmd == "version" || cmd == "--version") return cmd_version();
        return usage_error("unknown command '" + cmd + "'");
    } catch (const std::exception& e) {  // ps::Error is one line; a torch error's first line says what went wrong
        const std::string what = e.what();
        std::fprintf(stderr, "error: %s\n", what.substr(0, what.find('\n')).c_str());
        return 1;
    }
}
