// Where a model's weights live while it runs. Resident: every tensor is materialised once on the
// chosen device and dtype. Streaming: tensors of transformer blocks are materialised from the
// mmapped checkpoint when a block runs and freed after it, so one block is resident at a time
// (on the CPU in the checkpoint's own dtype, every tensor is used straight from the mapping).
// Overrides (pruned or recovered weights) take precedence over the checkpoint. Streamed tensors may
// alias the private file mapping: change weights through set(), never in place.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/io/checkpoint.h"

namespace ps {

struct LoadOptions {
    std::string device = "cpu";     // "cpu", "cuda", "cuda:N"
    std::string dtype = "float32";  // "float32", "bfloat16", "float16"
    bool streaming = false;
    // On CUDA, 2:4-sparse Linears through the semi-structured sparse kernels (core/model/semi_structured.h)
    // for inference; pruning and recovery, which change the weights, leave it off.
    bool sparse_kernels = false;
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
    // The shape of a tensor (an override's, else the checkpoint's) without materialising it.
    // Throws ps::Error when missing.
    std::vector<int64_t> shape(const std::string& name) const;
    int64_t rows(const std::string& name) const { return shape(name).at(0); }
    // The width a block's coupled Linears agree on: dimension 0 of every weight in `rows` and
    // dimension 1 of every weight in `cols`. Blocks read their widths this way, so structurally
    // pruned blocks (fewer heads or MLP channels than the config says) run as they are; when the
    // weights disagree it is `config_value`, and the shape checks then name the odd tensor.
    int64_t coupled_width(const std::vector<std::string>& rows, const std::vector<std::string>& cols, int64_t config_value) const;
    // As get(), checking the shape against what the config implies.
    at::Tensor get(const std::string& name, at::IntArrayRef expected_shape) const;
    // Replaces a weight for the rest of this model's life (pruned weights, merged adapters).
    void set(const std::string& name, at::Tensor value);
    void unset(const std::string& name);  // back to the checkpoint's tensor
    bool overridden(const std::string& name) const { return overrides_.count(name) > 0; }
    void clear_overrides();

    // Streaming: while held, the tensors get() maps or materialises stay between calls, so a caller
    // that runs one block over many batches (a pruning stage) maps and faults them in once instead
    // of once per batch; hold_block_tensors(false) lets them go. set() drops a held tensor it
    // replaces at once. No effect on resident models, which hold everything anyway.
    void hold_block_tensors(bool hold);
    // Streaming: lets one held tensor go before the hold ends (its pages go with its last user; a
    // later get() maps it again).
    void release_held(const std::string& name);

    // y = x·Wᵀ (+ b) for the Linear `name` (weight "<name>.weight" of [out, in], checked; bias
    // "<name>.bias" when `bias`). Every transformer block and projector runs its Linears through
    // here, so a tap sees each Linear's input: the pruning pipeline collects calibration statistics
    // this way.
    at::Tensor linear(const std::string& name, const at::Tensor& x, int64_t out, int64_t in, bool bias) const;
    using LinearTap = std::function<void(const std::string& name, const at::Tensor& input)>;
    void set_linear_tap(LinearTap tap) { tap_ = std::move(tap); }
    // Computes Linears in place of the plain product: given the Linear, its input, and the weight
    // and bias get() gives, it returns the output, or an undefined tensor to leave that Linear
    // plain. Recovery applies LoRA branches and fixed masks this way, so with the adapter removed
    // the same store runs the dense teacher.
    using LinearAdapter = std::function<at::Tensor(const std::string& name, const at::Tensor& x,
                                                   const at::Tensor& weight, const at::Tensor& bias)>;
    void set_linear_adapter(LinearAdapter adapter) { adapter_ = std::move(adapter); }
    bool has_linear_adapter() const { return static_cast<bool>(adapter_); }

private:
    at::Tensor materialise(const std::string& name) const;
    bool is_block_tensor(const std::string& name) const;

    Checkpoint ckpt_;
    at::Device device_;
    at::ScalarType dtype_;
    bool streaming_;
    mutable std::mutex mu_;
    mutable std::map<std::string, at::Tensor> cache_;
    bool hold_ = false;
    mutable std::vector<std::string> held_;  // block tensors cached while held
    std::map<std::string, at::Tensor> overrides_;
    LinearTap tap_;
    LinearAdapter adapter_;
};

}  // namespace ps
