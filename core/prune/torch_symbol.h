// A C symbol of the library torch's CPU kernels live in: the MKL service and LAPACK routines that
// libtorch_cpu exports (mkl_serv_free_buffers, spotrf_, ...), looked up there and not in the
// process's global scope, where another BLAS loaded by some dependency could answer first.
#pragma once

namespace ps {

// The symbol's address, or nullptr when torch's CPU library does not export it (a torch built
// without MKL, or whose LAPACK is not linked in).
void* torch_cpu_symbol(const char* name);

}  // namespace ps
