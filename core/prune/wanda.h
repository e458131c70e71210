// Wanda (Sun et al., "A Simple and Effective Pruning Approach for LLMs"): scores |W_ij| * sqrt(a_j),
// where a_j is the squared norm of input feature j over the calibration tokens, per sample.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/ATen.h>

namespace ps {

// Wanda's input statistic, normalised as lib/layerwrapper.py keeps it: a_j = (sum over every
// calibration token of x_j^2) / (number of samples), where a 3-d (or higher) input [batch, ..., columns]
// holds `batch` samples and a 1-d or 2-d input is one sample. The sums are kept in float64 on the first
// input's device, so the order of the batches does not change the result. The plain sums and the
// token count come along for DSnoT's per-sample sums and variances.
class ColumnNormAccumulator {
public:
    // `name` (the layer's input, e.g. "layers.0.mlp.fc1 input") only labels errors.
    explicit ColumnNormAccumulator(int64_t columns, std::string name = "calibration input");

    void add(const at::Tensor& x);          // [..., columns], any floating dtype
    // Adds the sums of `later` (the same input in later batches) after these: the same result as
    // adding its batches here, so batches can be summed apart and merged in their order.
    void merge(const ColumnNormAccumulator& later);
    at::Tensor mean_squared_norms() const;  // [columns] float32; throws before any sample was added
    at::Tensor mean_sums() const;           // [columns] float32: (sum of x_j over every token) / samples
    at::Tensor variances() const;           // [columns] float32: the variance of x_j over every token
    int64_t samples() const { return samples_; }
    int64_t columns() const { return columns_; }

private:
    void check_filled() const;  // throws before any sample, or when the sums are not finite

    int64_t columns_;
    std::string name_;
    at::Tensor sum_;         // [columns] float64 sums of x_j^2, undefined until the first add
    at::Tensor linear_sum_;  // [columns] float64 sums of x_j
    int64_t samples_ = 0, tokens_ = 0;
};

// S_ij = |W_ij| * sqrt(a_j) in float32 on the weight's device; `weight` is [out, in], `column_sq_norms`
// [in] and non-negative. `tensor_name` labels errors.
at::Tensor wanda_scores(const at::Tensor& weight, const at::Tensor& column_sq_norms,
                        const std::string& tensor_name = "weight");

}  // namespace ps
