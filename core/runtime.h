// The compute backend this process runs on: torch version and whether CUDA is usable. Torch-free
// header so the GUI can show it in the status bar.
#pragma once
#include <string>

namespace ps {

struct RuntimeInfo {
    std::string torch_version;
    bool cuda_available = false;
    int cuda_devices = 0;
    std::string default_device;  // "cuda" when available, else "cpu"
};

RuntimeInfo runtime_info();

}  // namespace ps
