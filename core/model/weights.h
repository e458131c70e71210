// Where a model's weights live while it runs. Resident: every tensor is materialised once on the
// chosen device and dtype. Streaming: tensors of transformer blocks are materialised from the
// mmapped checkpoint when a block runs and freed after it, so one block is resident at a time.
// Overrides (pruned or recovered weights) take precedence over the checkpoint. Streamed tensors may
// alias the private file mapping: change weights through set(), never in place.
#pragma once
#include <map>
#include <mutex>
#include <string>

#include <ATen/ATen.h>

#include "core/io/checkpoint.h"

namespace ps {

struct LoadOptions {
    std::string device = "cpu";     // "cpu", "cuda", "cuda:N"
    std::string dtype = "float32";  // "float32", "bfloat16", "float16"
    bool streaming = false;
};

at::Device parse_device(const std::string& s);       // throws ps::Error for unknown or unavailable devices
at::ScalarType parse_dtype(const std::string& s);    // throws ps::Error for unknown names

class WeightStore {
public:
    WeightStore(Checkpoint ckpt, const LoadOptions& opt);

    const Checkpoint& checkpoint() const { return ckpt_; }
    at::Device device() const { return device_; }
    at::ScalarType dtype() const { return dtype_; }
    bool streaming() const { return streaming_; }

    bool has(const std::string& name) const;
    // The tensor on the model's device; floating tensors in the model's dtype. Throws ps::Error
    // naming the checkpoint and tensor when it is missing.
    at::Tensor get(const std::string& name) const;
    // As get(), checking the shape against what the config implies.
    at::Tensor get(const std::string& name, at::IntArrayRef expected_shape) const;
    // Replaces a weight for the rest of this model's life (pruned weights, merged adapters).
    void set(const std::string& name, at::Tensor value);
    void clear_overrides();

private:
    at::Tensor materialise(const std::string& name) const;
    bool is_block_tensor(const std::string& name) const;

    Checkpoint ckpt_;
    at::Device device_;
    at::ScalarType dtype_;
    bool streaming_;
    mutable std::mutex mu_;
    mutable std::map<std::string, at::Tensor> cache_;
    std::map<std::string, at::Tensor> overrides_;
};

}  // namespace ps
