// The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU) that SparseGPT's updates read, bit for bit as
// torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True) gives it. Those
// ops each factor a column-major copy; for a float32 contiguous H on the CPU the same LAPACK routines
// (potrf, potri, potrf) run in H's own memory instead, so no second [n, n] matrix is made.
#pragma once

#include <ATen/ATen.h>

namespace ps {

struct InverseCholesky {
    enum class Failed { None, Factor, FactorOfInverse };  // which factorization found no positive definite matrix
    at::Tensor upper;                                      // U, zero below the diagonal; undefined when failed
    Failed failed = Failed::None;
};

// `h`: a square float matrix. Its memory is overwritten (U is then a view of it) when it is float32,
// contiguous and on the CPU and torch's CPU library exports the LAPACK routines; otherwise it is
// left alone and the torch ops run. Either way the caller must not read `h` afterwards.
InverseCholesky inverse_cholesky_upper(at::Tensor h);

}  // namespace ps
