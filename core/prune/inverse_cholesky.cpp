#include "core/prune/inverse_cholesky.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>

#include <ATen/Parallel.h>

#include "core/prune/torch_symbol.h"

namespace ps {
namespace {

// LAPACK's Fortran interface, 32-bit integers, as torch's own kernels call it.
using Lapack = void (*)(const char* uplo, const int* n, float* a, const int* lda, int* info);

// a ↔ aᵀ for an n x n row-major matrix, in place, in tiles so both sides stay in cache.
void transpose_in_place(float* a, int64_t n) {
    constexpr int64_t kTile = 64;
    at::parallel_for(0, (n + kTile - 1) / kTile, 1, [&](int64_t begin, int64_t end) {
        for (int64_t bi = begin; bi < end; ++bi)
            for (int64_t bj = bi; bj < (n + kTile - 1) / kTile; ++bj)
                for (int64_t i = bi * kTile; i < std::min(n, (bi + 1) * kTile); ++i)
                    for (int64_t j = std::max(i + 1, bj * kTile); j < std::min(n, (bj + 1) * kTile); ++j)
                        std::swap(a[i * n + j], a[j * n + i]);
    });
}

// The ops themselves; each [n, n] step goes as soon as the next is made: two at a time, not four.
InverseCholesky torch_ops(at::Tensor h) {
    InverseCholesky out;
    at::Tensor lower, info;
    std::tie(lower, info) = at::linalg_cholesky_ex(h, /*upper=*/false, /*check_errors=*/false);
    h.reset();
    if (info.item<int64_t>() != 0) {
        out.failed = InverseCholesky::Failed::Factor;
        return out;
    }
    at::Tensor inverse = at::cholesky_inverse(lower);
    lower.reset();
    std::tie(out.upper, info) = at::linalg_cholesky_ex(inverse, /*upper=*/true, /*check_errors=*/false);
    inverse.reset();
    if (info.item<int64_t>() != 0) {
        out.upper.reset();
        out.failed = InverseCholesky::Failed::FactorOfInverse;
    }
    return out;
}

}  // namespace

InverseCholesky inverse_cholesky_upper(at::Tensor h) {
    static const auto potrf = reinterpret_cast<Lapack>(torch_cpu_symbol("spotrf_"));
    static const auto potri = reinterpret_cast<Lapack>(torch_cpu_symbol("spotri_"));
    const int64_t n = h.dim() == 2 ? h.size(0) : 0;
    if (!potrf || !potri || !h.device().is_cpu() || h.scalar_type() != at::kFloat || !h.is_contiguous() || n < 1 ||
        h.size(1) != n || n > std::numeric_limits<int>::max() / n)
        return torch_ops(std::move(h));

    // The row-major buffer read as column-major is Hᵀ; transposed once, it is H, as the column-major
    // copy torch's ops would factor.
    float* a = h.data_ptr<float>();
    const int dim = static_cast<int>(n);
    int info = 0;
    transpose_in_place(a, n);
    InverseCholesky out;
    potrf("L", &dim, a, &dim, &info);  // lower triangle := L, H = LLᵀ
    if (info != 0) {
        out.failed = InverseCholesky::Failed::Factor;
        return out;
    }
    potri("L", &dim, a, &dim, &info);  // lower triangle := H⁻¹'s, from L
    if (info != 0) {
        out.failed = InverseCholesky::Failed::Factor;  // L has a zero on its diagonal: H is singular
        return out;
    }
    // H⁻¹'s upper triangle mirrors its lower one, as cholesky_inverse fills it; column-major (i, j)
    // is a[i + j n].
    at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j)
            for (int64_t i = 0; i < j; ++i) a[i + j * n] = a[j + i * n];
    });
    potrf("U", &dim, a, &dim, &info);  // upper triangle := U, H⁻¹ = UᵀU
    if (info != 0) {
        out.failed = InverseCholesky::Failed::FactorOfInverse;
        return out;
    }
    // Column-major lower triangle (H⁻¹'s, left by potrf) = the row-major upper one: cleared. U is the
    // transposed view, column-major as torch returns it.
    h.tril_();
    out.upper = h.t();
    return out;
}

}  // namespace ps
