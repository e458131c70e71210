// The relative reconstruction error ‖W X − W′X‖ / ‖W X‖ that a pruning result reports per Linear,
// measured on a bounded sample of the Linear's calibration inputs: in each batch its first row and
// every k-th after it, k = ceil(rows in the batch × batches / max_rows), so that about `max_rows`
// rows are kept over the calibration set (k = 1, every row, when it has no more). Each batch's
// rows depend on that batch alone, so batches can be sampled apart and merged in their order.
// Keeping rows costs rows × in floats and 2 × rows × in × out multiply-adds
// per Linear; the Gram route (X·Xᵀ) costs in² floats, tokens × in² to accumulate and 2 × out × in²
// to evaluate, which on wide layers is as much as a pass of the block.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace ps {

class InputRowSample {
public:
    static constexpr int64_t kDefaultMaxRows = 256;

    // `batches`: how many calibration batches the set has. `name` (e.g. "layers.0.mlp.fc1 input")
    // labels errors.
    InputRowSample(int64_t columns, int64_t batches, std::string name, int64_t max_rows = kDefaultMaxRows);

    // x: one batch's input, [..., columns], any floating dtype and device; its kept rows are stored
    // as float32 on x's device.
    void add(const at::Tensor& x);
    // Appends the rows of `later` (the same Linear's input in later batches) after these.
    void merge(const InputRowSample& later);

    int64_t rows() const { return rows_kept_; }
    int64_t rows_seen() const { return rows_seen_; }
    at::Tensor matrix() const;  // [rows, columns] float32; throws before any row was added

    // ‖X (W − W′)ᵀ‖_F / ‖X Wᵀ‖_F over the kept rows X, sums in float64; 0 when X Wᵀ is 0.
    // `weight` and `pruned` are [out, columns]. Throws ps::Error naming the sample for a shape
    // mismatch or no rows.
    double relative_error(const at::Tensor& weight, const at::Tensor& pruned) const;

private:
    int64_t columns_, batches_, max_rows_;
    std::string name_;
    int64_t rows_seen_ = 0, rows_kept_ = 0;
    std::vector<at::Tensor> parts_;
};

}  // namespace ps
