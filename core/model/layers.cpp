#include "core/model/layers.h"

#include <cmath>
#include <limits>
#include <utility>

#include <ATen/core/grad_mode.h>

#include "core/error.h"

namespace ps {

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
    return at::layer_norm(x, {x.size(-1)}, w, b, eps);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
    const at::Tensor h = x.to(at::kFloat);
    return mul_into((h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type()), w);  // w * h
}

at::Tensor gemma_rms_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
    const at::Tensor h = x.to(at::kFloat);
    return (h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps) * (w.to(at::kFloat) + 1.0)).to(x.scalar_type());
}

namespace {

// activation(x, name), into x's memory when `in_place`.
at::Tensor apply_activation(at::Tensor x, const std::string& name, bool in_place) {
    if (name == "gelu") return in_place ? at::gelu_(x) : at::gelu(x);
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
        return in_place ? at::gelu_(x, "tanh") : at::gelu(x, "tanh");
    if (name == "quick_gelu") return in_place ? x.mul_((1.702 * x).sigmoid_()) : x * at::sigmoid(1.702 * x);
    if (name == "silu" || name == "swish") return in_place ? at::silu_(x) : at::silu(x);
    if (name == "relu") return in_place ? at::relu_(x) : at::relu(x);
    if (name == "tanh") return in_place ? at::tanh_(x) : at::tanh(x);
    throw Error("config.json", "unsupported hidden_act \"" + name + "\"");
}

// Whether `a op b` may be written into a: no gradient recorded, and the result a's shape and dtype.
bool into_a(const at::Tensor& a, const at::Tensor& b) {
    return !at::GradMode::is_enabled() && a.device() == b.device() && at::result_type(a, b) == a.scalar_type() &&
           at::infer_size(a.sizes(), b.sizes()) == a.sizes();
}

}  // namespace

at::Tensor activation(const at::Tensor& x, const std::string& name) { return apply_activation(x, name, false); }

// Addition and multiplication commute exactly, so a + b and b + a (a * b, b * a) are the same bits.
at::Tensor add_into(at::Tensor a, const at::Tensor& b) { return into_a(a, b) ? a.add_(b) : a + b; }
at::Tensor mul_into(at::Tensor a, const at::Tensor& b) { return into_a(a, b) ? a.mul_(b) : a * b; }

at::Tensor activation_into(at::Tensor x, const std::string& name) {
    return apply_activation(std::move(x), name, !at::GradMode::is_enabled());
}

double masked_value(at::ScalarType t) {
    switch (t) {
        case at::kHalf: return -65504.0;
        case at::kBFloat16: return -3.3895313892515355e38;
        case at::kDouble: return std::numeric_limits<double>::lowest();
        default: return std::numeric_limits<float>::lowest();
    }
}

at::Tensor attended_keys(const at::Tensor& bias) {
    return bias.select(1, 0).select(1, -1) > masked_value(bias.scalar_type());
}

std::pair<at::Tensor, at::Tensor> right_aligned(const std::vector<at::Tensor>& rows) {
    int64_t longest = 0;
    for (const at::Tensor& r : rows) longest = std::max(longest, r.size(0));
    std::vector<at::Tensor> padded;
    at::Tensor filler = at::zeros({static_cast<int64_t>(rows.size()), longest}, at::kBool);
    for (size_t r = 0; r < rows.size(); ++r) {
        const int64_t pad = longest - rows[r].size(0);
        padded.push_back(at::cat({rows[r].slice(0, 0, 1).expand({pad}), rows[r]}));
        filler[static_cast<int64_t>(r)].slice(0, 0, pad).fill_(true);
    }
    return {at::stack(padded), filler};
}

at::Tensor rotate_half(const at::Tensor& x) {
    const int64_t h = x.size(-1) / 2;
    return at::cat({-x.slice(-1, h), x.slice(-1, 0, h)}, -1);
}

at::Tensor padding_bias(const at::Tensor& attention_mask, at::ScalarType dtype) {
    at::Tensor keep = attention_mask.to(at::kBool).unsqueeze(1).unsqueeze(1);
    return at::zeros(keep.sizes(), attention_mask.options().dtype(dtype)).masked_fill(keep.logical_not(), masked_value(dtype));
}

at::Tensor causal_bias(int64_t q_len, int64_t k_len, at::ScalarType dtype, at::Device device) {
    at::Tensor q_pos = at::arange(k_len - q_len, k_len, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(1);
    at::Tensor k_pos = at::arange(k_len, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(0);
    at::Tensor bias = at::zeros({q_len, k_len}, at::TensorOptions().dtype(dtype).device(device));
    return bias.masked_fill(k_pos > q_pos, masked_value(dtype)).view({1, 1, q_len, k_len});
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k_in, const at::Tensor& v_in, const at::Tensor& bias,
                     double scale, at::Tensor* probs) {
    at::Tensor k = k_in, v = v_in;
    const int64_t groups = q.size(1) / k.size(1);
    if (groups > 1) {
        k = k.repeat_interleave(groups, 1);
        v = v.repeat_interleave(groups, 1);
    }
    if (!probs) {
        std::optional<at::Tensor> mask;
        if (bias.defined()) mask = bias.to(q.scalar_type());
        return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
    }
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * scale;
    if (bias.defined()) scores = scores + bias.to(scores.scalar_type());
    at::Tensor p = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    *probs = p;
    return at::matmul(p, v);
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor merge_heads(const at::Tensor& x) {
    return x.transpose(1, 2).contiguous().view({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

at::Tensor write_image_features(const at::Tensor& embeds, const at::Tensor& slots, const at::Tensor& rows, int64_t image_token,
                                const std::string& source, const std::string& what) {
    const int64_t tokens = slots.sum().item<int64_t>(), given = rows.defined() ? rows.numel() / embeds.size(-1) : 0;
    if (tokens != given)
        throw Error("input_ids", std::to_string(tokens) + " image tokens (id " + std::to_string(image_token) + ") but " + source + " give " +
                                     std::to_string(given) + " " + what);
    if (tokens == 0) return embeds;
    return embeds.masked_scatter(slots.unsqueeze(-1).expand_as(embeds), rows.to(embeds.scalar_type()));
}

at::Tensor pixel_shuffle(const at::Tensor& x, int64_t side, int64_t f) {
    const int64_t n = x.size(0), c = x.size(2), cut = side / f;
    return x.reshape({n, side, side, c})
        .reshape({n, side, cut, f * c})
        .permute({0, 2, 1, 3})
        .reshape({n, cut, cut, f * f * c})
        .permute({0, 2, 1, 3})
        .reshape({n, cut * cut, f * f * c});
}

}  // namespace ps
