#include "core/runtime.h"

#include <dlfcn.h>

#include <fstream>
#include <sstream>

#include <torch/cuda.h>
#include <torch/version.h>

namespace ps {

RuntimeInfo runtime_info() {
    RuntimeInfo r;
    r.torch_version = TORCH_VERSION;
    r.cuda_available = torch::cuda::is_available();
    r.cuda_devices = r.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
    r.default_device = r.cuda_available ? "cuda" : "cpu";
    return r;
}

namespace {

int64_t status_kib(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, key.size(), key) == 0) {
            std::istringstream rest(line.substr(key.size()));
            int64_t kib = 0;
            rest >> kib;
            return kib;
        }
    return 0;
}

}  // namespace

int64_t resident_bytes() { return status_kib("VmRSS:") * 1024; }
int64_t peak_resident_bytes() { return status_kib("VmHWM:") * 1024; }
void reset_peak_resident() { std::ofstream("/proc/self/clear_refs") << "5"; }

int64_t cuda_free_bytes() {
    using MemGetInfo = int (*)(size_t*, size_t*);  // cudaError_t cudaMemGetInfo(size_t* free, size_t* total)
    static const auto get = reinterpret_cast<MemGetInfo>(dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
    size_t free = 0, total = 0;
    return get && get(&free, &total) == 0 ? static_cast<int64_t>(free) : -1;  // 0: cudaSuccess
}

int cuda_compute_major(int device) {
    using GetAttribute = int (*)(int*, int, int);  // cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device)
    static const auto get = reinterpret_cast<GetAttribute>(dlsym(RTLD_DEFAULT, "cudaDeviceGetAttribute"));
    constexpr int kComputeCapabilityMajor = 75;  // cudaDevAttrComputeCapabilityMajor
    int major = 0;
    return get && get(&major, kComputeCapabilityMajor, device) == 0 ? major : -1;
}

}  // namespace ps
