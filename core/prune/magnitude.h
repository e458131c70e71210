// Magnitude pruning's score |W_ij|: the data-free baseline (Wanda's lib/prune.py pairs it with a
// per-matrix comparison group).
#pragma once
#include <string>

#include <ATen/ATen.h>

namespace ps {

// |W| in float32 on the weight's device; `weight` is [out, in]. `tensor_name` labels errors.
at::Tensor magnitude_scores(const at::Tensor& weight, const std::string& tensor_name = "weight");

}  // namespace ps
