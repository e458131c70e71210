// The few transformer building blocks every family is made of, as plain functions over tensors:
// norms, activations, and attention that runs fused SDPA unless its probabilities are wanted.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace ps {

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps);
// LLaMA RMSNorm: normalised in float32, scaled in the input dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w, double eps);
// Gemma's RMSNorm: the normalised x times 1 + w, all in float32, then cast back to x's dtype.
at::Tensor gemma_rms_norm(const at::Tensor& x, const at::Tensor& w, double eps);
// hidden_act names as in Hugging Face configs: gelu, gelu_new / gelu_pytorch_tanh, quick_gelu, silu, relu, tanh.
at::Tensor activation(const at::Tensor& x, const std::string& name);

// A block's temporaries combined into the first one's memory while no gradient is recorded (the
// same values; a block then holds fewer activation-sized buffers at once, which counts when
// calibration batches run side by side), and out of place while autograd may need them. `a` must be
// a temporary of the caller's; it is written only where the result has its shape and dtype.
at::Tensor add_into(at::Tensor a, const at::Tensor& b);         // a + b
at::Tensor mul_into(at::Tensor a, const at::Tensor& b);         // a * b
at::Tensor activation_into(at::Tensor x, const std::string& name);  // activation(x, name)

// Additive mask [B,1,1,K] from a [B,K] 0/1 attention mask (0 -> most negative value of dtype).
at::Tensor padding_bias(const at::Tensor& attention_mask, at::ScalarType dtype);
// The additive value of a masked position: the dtype's most negative finite value, so that sums
// and all-masked rows stay finite.
double masked_value(at::ScalarType t);
// [B,K] bool: the keys the last query of an additive attention bias [B,1,Q,K] may attend.
at::Tensor attended_keys(const at::Tensor& bias);
// Rows of token indices of different lengths as one index [B,L]: each row right-aligned, led by
// repeats of its first index, which `filler` [B,L] marks for masking out. Rows are not empty.
std::pair<at::Tensor, at::Tensor> right_aligned(const std::vector<at::Tensor>& rows);
// Additive causal mask [1,1,Q,K] for queries at positions K-Q..K-1.
at::Tensor causal_bias(int64_t q_len, int64_t k_len, at::ScalarType dtype, at::Device device);

// q [B,H,Q,d], k/v [B,Hkv,K,d] (Hkv divides H: grouped-query attention). bias additive,
// broadcastable to [B,H,Q,K], may be undefined. When `probs` is given, attention is computed
// eagerly (softmax in float32) and the probabilities [B,H,Q,K] are stored there.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                     double scale, at::Tensor* probs = nullptr);

// The rotary embedding's half swap: [x1, x2] -> [-x2, x1] over the last axis.
at::Tensor rotate_half(const at::Tensor& x);

// [B,N,H*d] -> [B,H,N,d] and back.
at::Tensor split_heads(const at::Tensor& x, int64_t heads);
at::Tensor merge_heads(const at::Tensor& x);

// `embeds` [B,T,D] with the image features `rows` [N,D] (undefined: none) written over the
// positions where `slots` [B,T] is set, in order, as transformers' masked_scatter does. Throws
// ps::Error naming input_ids when the counts differ: "<n> image tokens (id <image_token>) but
// <source> give <m> <what>".
at::Tensor write_image_features(const at::Tensor& embeds, const at::Tensor& slots, const at::Tensor& rows, int64_t image_token,
                                const std::string& source, const std::string& what);

// transformers' pixel shuffle (InternVL, Idefics3): each view's side x side features [V, side^2, C]
// as [V, (side/f)^2, f^2 C], a token the features of an f x f group of patches, in row-major order.
at::Tensor pixel_shuffle(const at::Tensor& x, int64_t side, int64_t f);

}  // namespace ps
