// SparseGPT's layer-input statistic H = (2/n) * sum x x^T, kept as a float32 running average over
// calibration batches exactly as the reference sparsegpt.py add_batch does.
#pragma once
#include <cstdint>
#include <utility>

#include <ATen/ATen.h>

namespace ps {

class HessianAccumulator {
public:
    // H starts as a zero float32 [columns, columns] matrix on `device`.
    explicit HessianAccumulator(int64_t columns, at::Device device = at::kCPU);

    // x: the inputs of one calibration batch, any float dtype and device, [tokens, columns] (counted
    // as 1 sample) or [B, ..., columns] (counted as B samples, all its rows flattened into the sum).
    // Like the reference, n counts samples (sequences), not tokens: H is rescaled by n/(n+b) and
    // then gets (2/(n+b)) * X^T X. Throws ps::Error for a wrong shape or a non-float tensor.
    void add(const at::Tensor& x);

    // H, symmetric: add() sums only the upper triangle, which the first read after it mirrors.
    const at::Tensor& matrix();
    // Hands H over (its last reader may overwrite it) and leaves matrix() undefined.
    at::Tensor release();
    int64_t samples() const { return samples_; }
    int64_t columns() const { return columns_; }

private:
    int64_t columns_;
    at::Tensor h_;
    int64_t samples_ = 0;
    bool mirrored_ = true;  // the lower triangle holds the upper's values
};

}  // namespace ps
