#include "core/runtime.h"

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

}  // namespace ps
