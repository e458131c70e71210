// The compute backend this process runs on: torch version and whether CUDA is usable. Torch-free
// header so the GUI can show it in the status bar.
#pragma once
#include <cstdint>
#include <string>

namespace ps {

struct RuntimeInfo {
    std::string torch_version;
    bool cuda_available = false;
    int cuda_devices = 0;
    std::string default_device;  // "cuda" when available, else "cpu"
};

RuntimeInfo runtime_info();

// This process's resident memory in bytes (Linux /proc/self/status: VmRSS, and VmHWM, its peak);
// 0 where unknown. reset_peak_resident() starts a new peak at the current size (/proc/self/clear_refs).
int64_t resident_bytes();
int64_t peak_resident_bytes();
void reset_peak_resident();

// The CUDA runtime torch loaded, asked directly (cudaMemGetInfo, cudaDeviceGetAttribute looked up
// at run time, so nothing here needs the CUDA headers): the current device's free memory in bytes,
// and a device's compute capability major (8 for Ampere); -1 without a usable CUDA runtime.
int64_t cuda_free_bytes();
int cuda_compute_major(int device);

}  // namespace ps
