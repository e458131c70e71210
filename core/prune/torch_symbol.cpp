#include "core/prune/torch_symbol.h"

#include <dlfcn.h>

#include <ATen/ops/linalg_cholesky_ex.h>

namespace ps {

void* torch_cpu_symbol(const char* name) {
    // The library that defines an ATen operator's entry point is the one its CPU kernels are in.
    static void* const library = [] {
        Dl_info info{};
        if (::dladdr(reinterpret_cast<void*>(&at::_ops::linalg_cholesky_ex::call), &info) == 0 || !info.dli_fname)
            return static_cast<void*>(nullptr);
        return ::dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    }();
    return library ? ::dlsym(library, name) : nullptr;
}

}  // namespace ps
