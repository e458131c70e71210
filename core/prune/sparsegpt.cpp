#include "core/prune/sparsegpt.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/prune/inverse_cholesky.h"
#include "core/prune/mask.h"

namespace ps {

namespace {

// Whether every entry is finite, from the extremes (amax and amin propagate NaN): no
// matrix-sized temporary, as isfinite() would make for an [in, in] Hessian.
bool all_finite(const at::Tensor& t) {
    return std::isfinite(t.amax().item<double>()) && std::isfinite(t.amin().item<double>());
}

void validate(const at::Tensor& weight, const at::Tensor& hessian, double sparsity, const SparsityPattern& pattern,
              const SparseGptOptions& opt) {
    if (!weight.defined() || weight.dim() != 2 || weight.size(0) < 1 || weight.size(1) < 1)
        throw Error("sparsegpt weight", "shape " + (weight.defined() ? shape_string(weight) : std::string("(undefined)")) +
                                            " is not a non-empty [out, in] matrix");
    if (!at::isFloatingType(weight.scalar_type()))
        throw Error("sparsegpt weight", std::string("dtype ") + c10::toString(weight.scalar_type()) + " is not a float type");
    const int64_t cols = weight.size(1);
    if (!hessian.defined() || hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols)
        throw Error("sparsegpt hessian", "shape " + (hessian.defined() ? shape_string(hessian) : std::string("(undefined)")) +
                                             " does not match the weight's " + std::to_string(cols) + " input columns: expected [" +
                                             std::to_string(cols) + ", " + std::to_string(cols) + "]");
    if (!at::isFloatingType(hessian.scalar_type()))
        throw Error("sparsegpt hessian", std::string("dtype ") + c10::toString(hessian.scalar_type()) + " is not a float type");
    check_pattern(pattern, cols, "sparsegpt weight");
    if (!pattern.is_nm()) check_sparsity(sparsity, "sparsegpt");
    if (opt.blocksize < 1) throw Error("sparsegpt blocksize", std::to_string(opt.blocksize) + " is not positive");
    if (pattern.is_nm() && opt.blocksize % pattern.m != 0)
        throw Error("sparsegpt blocksize", std::to_string(opt.blocksize) + " is not a multiple of M for pattern " +
                                               pattern.name());
    if (!(opt.percdamp >= 0.0 && std::isfinite(opt.percdamp))) {
        std::ostringstream os;
        os << opt.percdamp << " is not a finite number >= 0";
        throw Error("sparsegpt percdamp", os.str());
    }
    if (!all_finite(weight)) throw Error("sparsegpt weight", "contains NaN or infinite values");
    if (!all_finite(hessian)) throw Error("sparsegpt hessian", "contains NaN or infinite values");
}

// Floating-point contraction (a fused multiply-subtract) would round differently from the
// separate product and difference the tensor formulation computes; keep them separate.
#if defined(__clang__)
#define PS_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#define PS_NO_FP_CONTRACT_ATTR
#elif defined(__GNUC__)
#define PS_NO_FP_CONTRACT
#define PS_NO_FP_CONTRACT_ATTR __attribute__((optimize("fp-contract=off", "vect-cost-model=dynamic")))
#else
#define PS_NO_FP_CONTRACT
#define PS_NO_FP_CONTRACT_ATTR
#endif

// One block's OBS loop, row by row, in the weight's own columns. Rows are independent: column i of
// a row is kept (q = w) or pruned (q = 0) and takes q's value, its error e = (w - q) / U_ii is spread
// over the row's later columns, w_j -= e * U_ij (product rounded, then subtracted), in column order.
// Unstructured (nm_m == 0), the mask is fixed before the loop; N:M, each row marks, when column i
// starts a group of M, the N lowest scores w_j² / U_jj² of the group as updated so far (ties to the
// lower column). These are the float32 operations of the per-column tensor updates below, element
// for element, without their per-column temporaries, dispatch and block copies. w1: the block's
// first column, rows `w_stride` apart; mask1: [rows, count], rows `mask_stride` apart; u1: contiguous
// [count, count]; err1: contiguous [rows, count].
PS_NO_FP_CONTRACT_ATTR void obs_rows(float* w1, int64_t w_stride, bool* mask1, int64_t mask_stride, const float* u1, float* err1,
                                     int64_t begin, int64_t end, int64_t count, int nm_n, int nm_m) {
    PS_NO_FP_CONTRACT
    for (int64_t r = begin; r < end; ++r) {
        float* w = w1 + r * w_stride;
        bool* m = mask1 + r * mask_stride;
        for (int64_t i = 0; i < count; ++i) {
            if (nm_m > 0 && i % nm_m == 0) {
                float score[16];
                for (int k = 0; k < nm_m; ++k) {
                    const float d = u1[(i + k) * count + i + k];
                    score[k] = (w[i + k] * w[i + k]) / (d * d);
                }
                for (int picked = 0; picked < nm_n; ++picked) {  // the lowest not yet marked, earlier first on ties
                    int low = -1;
                    for (int k = 0; k < nm_m; ++k)
                        if (!m[i + k] && (low < 0 || score[k] < score[low])) low = k;
                    m[i + low] = true;
                }
            }
            const float col = w[i], q = m[i] ? 0.0f : col;
            const float e = (col - q) / u1[i * count + i];
            w[i] = q;
            err1[r * count + i] = e;
            const float* __restrict ui = u1 + i * count;
            float* __restrict wj = w;
            // Each element on its own (vectorised: the same product and difference per element).
            for (int64_t j = i + 1; j < count; ++j) {
                const float p = e * ui[j];
                wj[j] = wj[j] - p;
            }
        }
    }
}

}  // namespace

PruneOutcome sparsegpt_prune(const at::Tensor& weight, const at::Tensor& hessian, double sparsity,
                             const SparsityPattern& pattern, const SparseGptOptions& opt, bool overwrite_hessian) {
    validate(weight, hessian, sparsity, pattern, opt);
    using at::indexing::Slice;
    const int64_t rows = weight.size(0), cols = weight.size(1);
    const bool nm = pattern.is_nm();

    // A private contiguous float32 copy of the weight (one copy, whatever its dtype); of the Hessian
    // too, unless it is the caller's to give and already contiguous float32 on the weight's device.
    at::Tensor w = weight.detach().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous);
    at::Tensor h = hessian.detach().to(w.device(), at::kFloat, /*non_blocking=*/false, /*copy=*/!overwrite_hessian,
                                       at::MemoryFormat::Contiguous);

    // Dead inputs (never non-zero in calibration) cannot be reconstructed: their weights go, and
    // H_ii = 1 keeps H invertible (their rows and columns of H are zero, so they stay decoupled).
    const at::Tensor dead = h.diagonal() == 0;
    h.diagonal().masked_fill_(dead, 1.0);
    w.masked_fill_(dead.unsqueeze(0), 0.0);
    const at::Tensor damp = h.diagonal().mean() * opt.percdamp;
    h.diagonal().add_(damp);
    InverseCholesky factor = inverse_cholesky_upper(std::move(h));  // only U is needed from here on
    if (factor.failed != InverseCholesky::Failed::None || !all_finite(factor.upper)) {
        std::ostringstream os;
        os << (factor.failed == InverseCholesky::Failed::Factor ? "Cholesky factorization"
                                                                  : "Cholesky factorization of the inverse")
           << " failed: the Hessian is not positive definite after dampening with percdamp " << opt.percdamp
           << "; increase percdamp (e.g. 0.1) or use more calibration data";
        throw Error("sparsegpt hessian", os.str());
    }
    const at::Tensor u = std::move(factor.upper);

    at::Tensor mask = at::zeros({rows, cols}, w.options().dtype(at::kBool));
    for (int64_t i1 = 0; i1 < cols; i1 += opt.blocksize) {
        const int64_t i2 = std::min(i1 + opt.blocksize, cols), count = i2 - i1;
        at::Tensor block = w.index({Slice(), Slice(i1, i2)});  // a view: the updates land in `w`
        at::Tensor err1 = at::zeros({rows, count}, w.options());
        const at::Tensor u1 = u.index({Slice(i1, i2), Slice(i1, i2)});
        const at::Tensor d1 = u1.diagonal();
        at::Tensor mask1 = mask.index({Slice(), Slice(i1, i2)});  // a view: selections land in `mask`

        if (!nm && sparsity > 0.0) {
            // Adaptive mask selection: the lowest scores over the whole rows x block, on the weights
            // as updated by the earlier blocks. Counts are cumulative, floor(s·rows·i2) −
            // floor(s·rows·i1), so the matrix ends with exactly floor(s·rows·cols) pruned entries.
            const at::Tensor score = block.pow(2) / d1.reshape({1, -1}).pow(2);
            const auto k = static_cast<int64_t>(sparsity * static_cast<double>(rows * i2)) -
                           static_cast<int64_t>(sparsity * static_cast<double>(rows * i1));
            mask1.copy_(lowest_k(score.flatten(), k).view(score.sizes()));
        }

        if (w.device().is_cpu() && (!nm || (pattern.m <= 16 && count % pattern.m == 0))) {
            // On the CPU, the row kernel in place (N:M choosing each row's mask as it goes).
            const at::Tensor uc = u1.contiguous();
            at::parallel_for(0, rows, std::max<int64_t>(1, 65536 / (count * count)), [&](int64_t begin, int64_t end) {
                obs_rows(block.data_ptr<float>(), cols, mask1.data_ptr<bool>(), mask1.stride(0), uc.data_ptr<float>(),
                         err1.data_ptr<float>(), begin, end, count, nm ? pattern.n : 0, nm ? pattern.m : 0);
            });
        } else {
            // Column by column on a copy of the block, the pruned values gathered apart (column i's
            // own update leaves it near, not at, q).
            at::Tensor w1 = block.clone();
            at::Tensor q1 = at::zeros_like(w1);
            for (int64_t i = 0; i < count; ++i) {
                if (nm && i % pattern.m == 0) {
                    // Each row drops the N lowest scores of the M columns starting here.
                    const at::Tensor score = w1.index({Slice(), Slice(i, i + pattern.m)}).pow(2) /
                                             d1.slice(0, i, i + pattern.m).reshape({1, -1}).pow(2);
                    const at::Tensor lowest = std::get<1>(score.topk(pattern.n, 1, /*largest=*/false));
                    mask1.index({Slice(), Slice(i, i + pattern.m)}).scatter_(1, lowest, true);
                }
                const at::Tensor col = w1.select(1, i);
                const at::Tensor q = col.masked_fill(mask1.select(1, i), 0.0);
                q1.select(1, i).copy_(q);
                // OBS: spread this column's pruning error over the block's later columns.
                const at::Tensor err = (col - q) / u1.index({i, i});
                w1.index({Slice(), Slice(i)}).sub_(at::outer(err, u1.index({i, Slice(i)})));
                err1.select(1, i).copy_(err);
            }
            block.copy_(q1);
        }
        // Lazy batched update of every column after the block, accumulated into them by the GEMM
        // (the same bits as subtracting the product, without the [rows, cols - i2] product).
        if (i2 < cols) w.index({Slice(), Slice(i2)}).addmm_(err1, u.index({Slice(i1, i2), Slice(i2)}), 1.0, -1.0);
    }

    PruneOutcome out;
    out.weight = w.to(weight.scalar_type()).reshape(weight.sizes());
    out.mask = std::move(mask);
    return out;
}

}  // namespace ps
