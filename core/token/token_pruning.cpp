#include "core/token/token_pruning.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/model/layers.h"

namespace ps {

TokenPruning TokenPruning::from_plan(const TokenOptions& t) {
    TokenPruning p;
    p.metric = parse_token_metric(t.metric);
    p.vision = t.vision;
    p.language_after = t.language_after;
    p.language_keep = t.language_keep;
    return p;
}

bool TokenPruning::active() const {
    for (const auto& [block, keep] : vision)
        if (keep < 1.0) return true;
    return language_after >= 0 && language_keep < 1.0;
}

int64_t kept_tokens(int64_t candidates, double keep) {
    return std::max<int64_t>(1, std::min<int64_t>(candidates, std::llround(keep * static_cast<double>(candidates))));
}

namespace {

// `t` gathered at `index` [B,K] along `dim` when that axis holds the N tokens; the batch axis
// (size B or 1) is broadcast to B.
at::Tensor gather_tokens(const at::Tensor& t, int64_t dim, const at::Tensor& index, int64_t n) {
    if (!t.defined() || t.dim() <= dim || t.size(dim) != n) return t;
    const int64_t b = index.size(0), k = index.size(1);
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    shape[0] = b;
    std::vector<int64_t> view(t.dim(), 1);
    view[0] = b;
    view[dim] = k;
    std::vector<int64_t> picked = shape;
    picked[dim] = k;
    return t.expand(shape).gather(dim, index.to(t.device()).view(view).expand(picked));
}

// Each row's last real token [B] in a decoder state: the last key its last query may attend (right
// padding is masked as keys, left padding comes first).
at::Tensor last_attended(const StageState& s) {
    if (!s.bias.defined()) return {};
    const at::Tensor allowed = attended_keys(s.bias);  // [B,N]
    return (allowed.to(at::kLong) * at::arange(allowed.size(1), allowed.options().dtype(at::kLong))).amax(1);
}

// 0/1 mask of the heads of `block` whose output projection still has nonzero columns.
at::Tensor head_mask(const Vlm& model, int tower, int block, int64_t heads) {
    const Modality m = model.towers()[tower].modality;
    for (const LinearLayer& l : model.map().linears)
        if (l.modality == m && l.block == block && l.role == "o") return live_heads(model.weights().get(l.name + ".weight"), heads);
    return {};
}

// The lengths of consecutive runs of tokens (attention segments) counting only the tokens `index`
// [1,K] keeps; runs left empty disappear.
std::vector<int64_t> kept_runs(const std::vector<int64_t>& runs, const at::Tensor& index) {
    if (runs.empty()) return runs;
    if (index.size(0) != 1) throw Error("tokens", "a vision tower that attends within runs of tokens takes one sequence");
    const at::Tensor ends = at::tensor(runs, at::kLong).cumsum(0);
    const at::Tensor run = at::bucketize(index[0].to(at::kCPU), ends, false, true);
    const at::Tensor counts = at::bincount(run, {}, static_cast<int64_t>(runs.size())).contiguous();
    std::vector<int64_t> out;
    for (int64_t i = 0; i < counts.numel(); ++i)
        if (counts[i].item<int64_t>() > 0) out.push_back(counts[i].item<int64_t>());
    return out;
}

// The tokens [1,K] that keep ratio `keep` leaves when whole groups of `group` consecutive tokens
// leave together: per attention segment (an image), the kept_tokens of its groups with the highest
// mean score.
at::Tensor kept_groups(const StageState& s, const at::Tensor& scores, int64_t group, double keep) {
    const int64_t n = scores.size(1);
    if (scores.size(0) != 1 || n % group)
        throw Error("tokens.vision", std::to_string(n) + " vision tokens do not form groups of " + std::to_string(group));
    const at::Tensor means = scores[0].to(at::kCPU, at::kFloat).view({n / group, group}).mean(1);
    std::vector<at::Tensor> kept;
    int64_t first = 0;
    for (int64_t length : s.segments.empty() ? std::vector<int64_t>{n} : s.segments) {
        const int64_t groups = length / group;
        const at::Tensor top = std::get<1>(means.narrow(0, first / group, groups).topk(kept_tokens(groups, keep)));
        kept.push_back(top + first / group);
        first += length;
    }
    const at::Tensor g = std::get<0>(at::cat(kept).sort());
    return (g.unsqueeze(1) * group + at::arange(group, at::kLong)).reshape({1, -1}).to(scores.device());
}

// A decoder batch whose rows hold different numbers of image tokens (images of different sizes):
// each row keeps its own share by `ranked` [B,N] (+inf on the tokens always kept), right-aligned;
// the shorter rows start with repeats of their first token, masked out as keys.
void keep_uneven(StageState& s, const at::Tensor& ranked, const at::Tensor& counts, double keep) {
    const int64_t b = ranked.size(0), n = ranked.size(1);
    std::vector<at::Tensor> rows;
    for (int64_t r = 0; r < b; ++r) {
        const int64_t c = counts[r].item<int64_t>();
        rows.push_back(std::get<0>(std::get<1>(ranked[r].topk(n - c + (c > 0 ? kept_tokens(c, keep) : 0))).sort()));
    }
    auto [index, filler] = right_aligned(rows);
    const int64_t longest = index.size(1);
    keep_tokens(s, index);
    filler = filler.to(s.hidden.device());
    if (s.bias.defined())
        s.bias = s.bias.expand({b, s.bias.size(1), longest, longest}).masked_fill(filler.view({b, 1, 1, longest}),
                                                                               masked_value(s.bias.scalar_type()));
    if (s.image_slots.defined()) s.image_slots = s.image_slots.logical_and(filler.logical_not());
}

}  // namespace

void keep_tokens(StageState& s, const at::Tensor& index) {
    const int64_t n = s.hidden.size(1);
    s.hidden = gather_tokens(s.hidden, 1, index, n);
    s.bias = gather_tokens(gather_tokens(s.bias, 3, index, n), 2, index, n);
    s.cos = gather_tokens(s.cos, 1, index, n);
    s.sin = gather_tokens(s.sin, 1, index, n);
    if (s.positions.defined() && s.positions.dim() == 1) s.positions = s.positions.unsqueeze(0);
    s.positions = gather_tokens(s.positions, 1, index, n);
    s.image_slots = gather_tokens(s.image_slots, 1, index, n);
    for (at::Tensor& f : s.deepstack) f = gather_tokens(f, 1, index, n);
    s.segments = kept_runs(s.segments, index);
    s.window_segments = kept_runs(s.window_segments, index);
}

at::Tensor token_scores(const Vlm& model, int tower, int block, const StageState& s, const at::Tensor& probs,
                        TokenMetric metric) {
    const bool decoder = s.image_slots.defined();  // LLaVA's language tower: no [CLS], causal
    switch (metric) {
        case TokenMetric::Received: return attention_received(probs);
        case TokenMetric::Cim: return collaborative_token_importance(probs, head_mask(model, tower, block, probs.size(1)));
        case TokenMetric::Text:
        case TokenMetric::Cls:
            if (decoder) return last_token_attention(probs, last_attended(s));
            if (metric == TokenMetric::Text)
                throw Error("tokens.metric", "text-guided importance needs a decoder reading image tokens (the last prompt token)");
            if (tower == tower_index(model, Modality::Vision) && !model.capabilities().vision_cls)
                throw Error("tokens.metric", no_cls_token(model));
            return at::cat({at::ones({probs.size(0), 1}, probs.options().dtype(at::kFloat)), cls_attention(probs)}, 1);
    }
    return {};
}

std::string no_cls_token(const Vlm& model) {
    return model.map().family_display + "'s vision tower has no [CLS] token: score its patches by received or cim";
}

std::string text_guided_unavailable(const Vlm& model) {
    return "text-guided importance needs a model with image tokens in its language sequence (LLaVA, Qwen-VL), not " +
           model.map().family_display;
}

void install_token_pruning(Vlm& model, const TokenPruning& p) {
    if (!p.active()) {
        model.set_token_hook({});
        return;
    }
    const bool image_tokens = model.capabilities().image_tokens_in_language;
    const int64_t group = model.capabilities().vision_token_group;
    const int vision = tower_index(model, Modality::Vision), language = tower_index(model, Modality::Language);
    if (p.metric == TokenMetric::Text && !image_tokens) throw Error("tokens.metric", text_guided_unavailable(model));
    if (p.metric == TokenMetric::Cls && !model.capabilities().vision_cls && !p.vision.empty())
        throw Error("tokens.metric", no_cls_token(model));
    TokenHook hook;
    for (const auto& [block, keep] : p.vision) {
        if (keep >= 1.0) continue;
        if (image_tokens && group == 0)
            throw Error("tokens.vision", model.map().family_display + "'s image-token count is fixed by its prompt; drop image "
                                         "tokens in the decoder with tokens.language_after");
        if (vision < 0 || block < 0 || block >= model.towers()[vision].num_blocks)
            throw Error("tokens.vision", "block " + std::to_string(block) + " is not a block of the vision tower (" +
                                             std::to_string(vision < 0 ? 0 : model.towers()[vision].num_blocks) + ")");
        hook.after.insert({vision, block});
    }
    if (p.language_after >= 0 && p.language_keep < 1.0) {
        if (language < 0 || p.language_after >= model.towers()[language].num_blocks)
            throw Error("tokens.language_after", std::to_string(p.language_after) + " is not a block of the language tower");
        hook.after.insert({language, p.language_after});
    }
    const Vlm* m = &model;
    hook.apply = [m, p, vision, group](int tower, int block, StageState& s, const at::Tensor& probs) {
        const double keep = tower == vision ? p.vision.at(block) : p.language_keep;
        at::Tensor scores = token_scores(*m, tower, block, s, probs, p.metric);
        if (tower == vision && group > 0) {
            keep_tokens(s, kept_groups(s, scores, group, keep));
            return;
        }
        const int64_t b = s.hidden.size(0), n = s.hidden.size(1);
        at::Tensor candidates;
        if (s.image_slots.defined()) {
            candidates = s.image_slots.to(scores.device());
        } else {
            candidates = at::ones({b, n}, scores.options().dtype(at::kBool));
            if (tower != vision || m->capabilities().vision_cls) candidates.select(1, 0).fill_(false);  // [CLS]
        }
        const at::Tensor counts = candidates.sum(1).cpu();
        const int64_t c = counts[0].item<int64_t>();
        const at::Tensor ranked = scores.masked_fill(candidates.logical_not(), std::numeric_limits<float>::infinity());
        if (counts.eq(c).all().item<bool>()) {
            if (c == 0) return;
            keep_tokens(s, std::get<0>(std::get<1>(ranked.topk(n - c + kept_tokens(c, keep), 1)).sort(1)));
            return;
        }
        if (!s.image_slots.defined())
            throw Error("tokens", "the samples of a batch hold different numbers of prunable tokens");
        keep_uneven(s, ranked, counts, keep);
    };
    model.set_token_hook(std::move(hook));
}

}  // namespace ps
