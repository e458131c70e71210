#include "core/model/prompt_tokens.h"

#include <utility>

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {
namespace {

// The runs [begin, end) of consecutive true values of `row` [N] bool, in order.
std::vector<std::pair<int64_t, int64_t>> true_runs(const at::Tensor& row) {
    const at::Tensor r = row.to(at::kCPU, at::kBool).contiguous();
    const bool* v = r.data_ptr<bool>();
    const int64_t n = r.numel();
    std::vector<std::pair<int64_t, int64_t>> runs;
    for (int64_t i = 0; i < n; ++i) {
        if (!v[i]) continue;
        const int64_t begin = i;
        while (i < n && v[i]) ++i;
        runs.emplace_back(begin, i);
    }
    return runs;
}

}  // namespace

void keep_prompt_tokens(PromptTokens& p, const at::Tensor& keep) {
    const at::Tensor k = keep.to(at::kCPU, at::kBool);
    if (k.all().item<bool>()) return;
    const int64_t batch = k.size(0);
    std::vector<at::Tensor> rows;
    for (int64_t b = 0; b < batch; ++b) {
        rows.push_back(k[b].nonzero().squeeze(1));
        if (rows.back().numel() == 0) throw Error("tokens", "token pruning left a prompt empty");
    }
    auto [index, filler] = right_aligned(rows);
    const at::Device device = p.ids.device();
    index = index.to(device);
    filler = filler.to(device);
    p.ids = p.ids.gather(1, index);
    // Without a mask every token is attended; filler needs one (a row of fewer tokens, left-padded).
    if (p.mask.defined() || filler.any().item<bool>())
        p.mask = (p.mask.defined() ? p.mask.to(at::kLong).gather(1, index) : at::ones_like(index)).masked_fill(filler, 0);
    if (p.positions.defined())
        p.positions = p.positions.gather(1, index.unsqueeze(-1).expand({batch, index.size(1), p.positions.size(2)}))
                          .masked_fill(filler.unsqueeze(-1), 1);
    for (at::Tensor& t : p.per_token)
        t = t.expand({batch, t.size(1), t.size(2)}).gather(1, index.to(t.device()).unsqueeze(-1).expand({batch, index.size(1), t.size(2)}));
    p.index = p.index.defined() ? p.index.gather(1, index) : index;
}

at::Tensor image_segments(const at::Tensor& slots, int64_t view_tokens) {
    at::Tensor out = at::zeros(slots.sizes(), at::kLong);
    for (int64_t b = 0; b < out.size(0); ++b) {
        int64_t image = 0;
        for (const auto& [begin, end] : true_runs(slots[b])) {
            const int64_t length = end - begin, view = view_tokens > 0 ? view_tokens : length;
            if (length % view)
                throw Error("input_ids", "a run of " + std::to_string(length) + " image tokens is not a whole number of images of " +
                                             std::to_string(view));
            for (int64_t from = begin; from < end; from += view) out[b].slice(0, from, from + view).fill_(++image);
        }
    }
    return out;
}

at::Tensor first_of_images(const at::Tensor& segments, int64_t kept) {
    const at::Tensor s = segments.to(at::kCPU, at::kLong).contiguous();
    at::Tensor keep = s.eq(0);
    const int64_t rows = s.size(0), n = s.size(1);
    const int64_t* v = s.data_ptr<int64_t>();
    bool* k = keep.data_ptr<bool>();
    for (int64_t b = 0; b < rows; ++b) {
        int64_t place = 0;  // the token's place within its image: a count that restarts where the image changes
        for (int64_t i = b * n; i < (b + 1) * n; ++i) {
            place = v[i] != 0 && i > b * n && v[i - 1] == v[i] ? place + 1 : 0;
            if (v[i] != 0 && place < kept) k[i] = true;
        }
    }
    return keep;
}

void choose_image_tokens(const TokenHook& hook, PromptTokens& p, int64_t image_token, int64_t view_tokens) {
    if (!hook.before_language) return;
    const at::Tensor slots = p.ids == image_token;
    if (!slots.any().item<bool>()) return;
    keep_prompt_tokens(p, hook.before_language(p.per_token.at(0), image_segments(slots, view_tokens)));
}

}  // namespace ps
