#include "core/token/token_selection.h"

namespace ps {

MergedTokens visionzip_tokens(const at::Tensor& hidden, const at::Tensor& scores, int64_t dominant, int64_t contextual) {
    const int64_t n = hidden.size(0);
    const auto longs = at::TensorOptions().dtype(at::kLong).device(hidden.device());
    MergedTokens out;
    out.kept = std::get<0>(std::get<1>(scores.to(at::kFloat).topk(std::min(dominant, n))).sort()).to(longs);
    const at::Tensor rest = at::ones({n}, longs.dtype(at::kBool)).index_fill(0, out.kept, false).nonzero().squeeze(1);
    const int64_t r = rest.numel(), c = std::min(contextual, r);
    out.merged_into = at::full({n}, -1, longs);
    if (c == 0) {
        out.contextual = hidden.new_empty({0, hidden.size(1)});
        return out;
    }
    const at::Tensor stride = at::arange(0, r, std::max<int64_t>(1, r / c), longs).slice(0, 0, c);
    const at::Tensor at_target = at::zeros({r}, longs.dtype(at::kBool)).index_fill(0, stride, true);
    const at::Tensor targets = rest.masked_select(at_target), others = rest.masked_select(at_target.logical_not());
    const at::Tensor t = hidden.index_select(0, targets).to(at::kFloat);
    out.contextual = t;
    out.merged_into.index_copy_(0, targets, at::arange(c, longs));
    if (others.numel() > 0) {
        const at::Tensor o = hidden.index_select(0, others).to(at::kFloat);
        const auto unit = [](const at::Tensor& v) { return v / v.norm(2, {1}).clamp_min(1e-12).unsqueeze(1); };
        const at::Tensor assign = unit(o).matmul(unit(t).t()).argmax(1);
        out.merged_into.index_copy_(0, others, assign);
        const at::Tensor sums = at::zeros_like(t).index_add_(0, assign, o);
        const at::Tensor counts = at::bincount(assign, {}, c).clamp_min(1).to(at::kFloat).unsqueeze(1);
        out.contextual = t + sums / counts;
    }
    out.contextual = out.contextual.to(hidden.scalar_type());
    return out;
}

}  // namespace ps
