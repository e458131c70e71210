#include "core/token/token_importance.h"

#include "core/error.h"

namespace ps {

TokenMetric parse_token_metric(const std::string& s) {
    if (s == "cls") return TokenMetric::Cls;
    if (s == "received") return TokenMetric::Received;
    if (s == "text") return TokenMetric::Text;
    if (s == "cim") return TokenMetric::Cim;
    throw Error("tokens.metric", "\"" + s + "\" is not cls, received, text or cim");
}

const char* token_metric_name(TokenMetric m) {
    switch (m) {
        case TokenMetric::Cls: return "cls";
        case TokenMetric::Received: return "received";
        case TokenMetric::Text: return "text";
        case TokenMetric::Cim: return "cim";
    }
    return "?";
}

namespace {
void check_probs(const at::Tensor& probs) {
    if (probs.dim() != 4 || probs.size(2) != probs.size(3))
        throw Error("attention", "token importance needs self-attention probabilities [B,H,N,N]");
}
}  // namespace

at::Tensor cls_attention(const at::Tensor& probs) {
    check_probs(probs);
    return probs.to(at::kFloat).select(2, 0).mean(1).slice(1, 1);
}

at::Tensor attention_received(const at::Tensor& probs) {
    check_probs(probs);
    return probs.to(at::kFloat).sum(2).mean(1);
}

at::Tensor last_token_attention(const at::Tensor& probs, const at::Tensor& last) {
    check_probs(probs);
    const at::Tensor p = probs.to(at::kFloat);
    if (!last.defined()) return p.select(2, p.size(2) - 1).mean(1);
    const int64_t b = p.size(0), h = p.size(1), n = p.size(3);
    return p.gather(2, last.to(p.device(), at::kLong).view({b, 1, 1, 1}).expand({b, h, 1, n})).squeeze(2).mean(1);
}

at::Tensor collaborative_token_importance(const at::Tensor& probs, const at::Tensor& head_mask) {
    check_probs(probs);
    at::Tensor a = probs.to(at::kFloat);
    if (head_mask.defined()) {
        if (head_mask.numel() != a.size(1))
            throw Error("attention", "head mask of " + std::to_string(head_mask.numel()) + " for " +
                                         std::to_string(a.size(1)) + " heads");
        a = a * head_mask.to(a.device(), at::kFloat).view({1, -1, 1, 1});
    }
    at::Tensor s = std::get<0>(a.max(1)).sum(1);  // [B,N]
    return s / s.sum(1, /*keepdim=*/true).clamp_min(1e-30);
}

at::Tensor token_weighted_column_norms(const at::Tensor& x, const at::Tensor& importance, bool has_cls) {
    if (x.dim() != 3 || importance.dim() != 2 || importance.size(0) != x.size(0) || importance.size(1) != x.size(1))
        throw Error("token importance", "weights [B,N] must match the tokens [B,N,D]");
    at::Tensor w = importance.to(x.device(), at::kFloat).clone();
    const int64_t first = has_cls ? 1 : 0;
    at::Tensor rest = w.slice(1, first);
    rest.div_(rest.sum(1, /*keepdim=*/true).clamp_min(1e-30));
    if (has_cls) w.select(1, 0).fill_(1.0);
    return (x.to(at::kFloat).pow(2) * w.unsqueeze(-1)).sum(at::IntArrayRef{0, 1}).sqrt();
}

at::Tensor live_heads(const at::Tensor& o_weight, int64_t heads) {
    if (o_weight.dim() != 2 || heads <= 0 || o_weight.size(1) % heads != 0)
        throw Error("attention", "output projection of " + std::to_string(o_weight.size(1)) + " columns is not " +
                                     std::to_string(heads) + " whole heads");
    return (o_weight.view({o_weight.size(0), heads, -1}).ne(0).any(2).any(0)).to(at::kFloat);
}

}  // namespace ps
