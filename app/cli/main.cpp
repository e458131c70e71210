// prunestudio-cli: the headless front end over core, for scripts and clusters.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/model_map.h"
#include "core/report/model_summary.h"
#include "core/runtime.h"

namespace {

const char* kUsage =
    "usage: prunestudio-cli <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect DIR [--json]     family, parameters per modality and every Linear of a checkpoint\n"
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
        if (cmd == "make-demo") return cmd_make_demo(args);
        if (cmd == "version" || cmd == "--version") return cmd_version();
        return usage_error("unknown command '" + cmd + "'");
    } catch (const ps::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
