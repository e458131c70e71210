// Torch views of checkpoint tensors and torch-side writing. Views are zero-copy: they alias the
// mmapped file and keep its mapping alive for as long as any view exists.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/io/checkpoint.h"

namespace ps {

at::ScalarType to_scalar_type(DType t);
DType from_scalar_type(at::ScalarType t);  // throws ps::Error for types safetensors cannot hold

// Zero-copy CPU view of one tensor (copied only when its bytes are misaligned for its type).
at::Tensor tensor_view(const std::shared_ptr<const SafetensorsFile>& file, const TensorInfo& info);
at::Tensor tensor_view(const Checkpoint& ckpt, const std::string& name);

// "[2, 3]": a tensor's shape for error messages.
std::string shape_string(const at::Tensor& t);

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
// Every tensor of one safetensors file as zero-copy views, in file order; `metadata` receives the
// file's __metadata__ when given. Throws ps::Error naming the file.
NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
// Writes tensors (any device, made contiguous on the CPU) atomically as one safetensors file.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ps
