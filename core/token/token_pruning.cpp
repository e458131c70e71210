#include "core/token/token_pruning.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/model/layers.h"
#include "core/token/token_selection.h"

namespace ps {

TokenPruning TokenPruning::from_plan(const TokenOptions& t, const Vlm& model) {
    TokenPruning p;
    p.source = t;
    if (t.method.empty()) {
        p.metric = parse_token_metric(t.metric);
        p.vision = t.vision;
        if (t.language_after >= 0) p.language[t.language_after] = t.language_keep;
        return p;
    }
    const auto blocks = [&](Modality m, const char* tower) {
        const int i = tower_index(model, m);
        if (i < 0)
            throw Error("tokens.method", t.method + " acts in a " + tower + " tower, which " + model.map().family_display + " has not");
        return model.towers()[i].num_blocks;
    };
    const std::string& m = t.method;
    if (m == "random" || m == "dart" || m == "divprune") {
        p.select = m == "random" ? TokenSelect::Random : m == "dart" ? TokenSelect::Dart : TokenSelect::DivPrune;
        p.select_keep = t.keep;
        p.seed = t.seed;
        p.pivots = t.pivots;
    } else if (m == "fastervlm" || m == "visionzip") {
        p.metric = m == "visionzip" && !model.capabilities().vision_cls ? TokenMetric::Received : TokenMetric::Cls;
        p.vision[blocks(Modality::Vision, "vision") - 1] = t.keep;
        if (m == "visionzip") p.contextual = t.contextual;
    } else if (m == "fastv") {
        p.metric = TokenMetric::Text;
        p.language[t.layer < 0 ? 2 : t.layer] = t.keep;
    } else if (m == "pyramiddrop") {
        p.metric = TokenMetric::Text;
        const int layers = blocks(Modality::Language, "language");
        if (t.stages > layers)
            throw Error("tokens.stages", std::to_string(t.stages) + " stages in " + std::to_string(layers) + " language layers");
        const double ratio = std::pow(t.keep, 1.0 / (t.stages - 1));
        for (int i = 1; i < t.stages; ++i) p.language[layers * i / t.stages - 1] = ratio;
    } else {
        p.metric = parse_token_metric(m);
        p.vision[t.layer < 0 ? 0 : t.layer] = t.keep;
    }
    return p;
}

bool TokenPruning::active() const {
    for (const auto& [block, keep] : vision)
        if (keep < 1.0) return true;
    for (const auto& [block, keep] : language)
        if (keep < 1.0) return true;
    return select != TokenSelect::None && select_keep < 1.0;
}

TokenOptions TokenPruning::to_plan() const {
    if (!source.method.empty()) return source;
    TokenOptions t;
    t.metric = token_metric_name(metric);
    t.vision = vision;
    for (const auto& [layer, keep] : language) {
        if (t.language_after >= 0) throw Error("tokens", "drops after several language blocks, which only a method states");
        t.language_after = layer;
        t.language_keep = keep;
    }
    return t;
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

// VisionZip after the vision tower's last block: each view's [CLS] (where there is one), its dominant
// patches by `scores` [V,N] and its contextual tokens, in that order.
void merge_visionzip(StageState& s, const at::Tensor& scores, double keep, double share, bool cls) {
    const int64_t c0 = cls ? 1 : 0, patches = s.hidden.size(1) - c0;
    const int64_t k = kept_tokens(patches, keep), contextual = std::llround(static_cast<double>(k) * share);
    std::vector<at::Tensor> views;
    for (int64_t v = 0; v < s.hidden.size(0); ++v) {
        const at::Tensor h = s.hidden[v];
        const MergedTokens m = visionzip_tokens(h.slice(0, c0), scores[v].slice(0, c0), k - contextual, contextual);
        views.push_back(at::cat({h.slice(0, 0, c0), h.index_select(0, m.kept.to(h.device()) + c0), m.contextual.to(h.device())}));
    }
    StageState out;
    out.hidden = at::stack(views);
    s = std::move(out);
}

// Which tokens stay [B,N] when each image of `images` [B,N] (0: text; 1, 2, …: the row's images)
// keeps its share by `p.select` over the prompt's embeddings [B,N,D]; every text token stays. The
// random choice is drawn afresh from the seed for every image, so an image's kept tokens do not
// depend on the batch.
at::Tensor chosen_image_tokens(const at::Tensor& embeds, const at::Tensor& images, const TokenPruning& p) {
    const at::Tensor segments = images.to(at::kCPU, at::kLong);
    at::Tensor keep = segments.eq(0);
    for (int64_t b = 0; b < keep.size(0); ++b)
        for (int64_t image = 1, images = segments[b].max().item<int64_t>(); image <= images; ++image) {
            const at::Tensor where = segments[b].eq(image).nonzero().squeeze(1);
            const int64_t n = where.numel(), k = kept_tokens(n, p.select_keep);
            if (n == 0) continue;
            at::Tensor index;
            if (p.select == TokenSelect::Random) {
                at::Generator g = at::make_generator<at::CPUGeneratorImpl>(p.seed);
                index = random_tokens(n, k, g);
            } else {
                const at::Tensor x = embeds[embeds.size(0) == 1 ? 0 : b].index_select(0, where.to(embeds.device()));
                index = p.select == TokenSelect::Dart ? dart_tokens(x, k, p.pivots) : divprune_tokens(x, k);
            }
            keep[b].index_fill_(0, where.index_select(0, index.to(at::kCPU)), true);
        }
    return keep;
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
    if (s.image_slots.defined() && !s.prompt_index.defined())
        s.prompt_index = at::arange(n, index.options().dtype(at::kLong).device(s.hidden.device())).unsqueeze(0);
    s.prompt_index = gather_tokens(s.prompt_index, 1, index, n);
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
    const Capabilities& caps = model.capabilities();
    const bool image_tokens = caps.image_tokens_in_language;
    const int64_t group = caps.vision_token_group;
    const int vision = tower_index(model, Modality::Vision), language = tower_index(model, Modality::Language);
    if (p.metric == TokenMetric::Text && !image_tokens) throw Error("tokens.metric", text_guided_unavailable(model));
    if (p.metric == TokenMetric::Cls && !caps.vision_cls && !p.vision.empty()) throw Error("tokens.metric", no_cls_token(model));
    TokenHook hook;
    for (const auto& [block, keep] : p.vision) {
        if (keep >= 1.0) continue;
        if (image_tokens && group == 0 && !caps.image_tokens_follow_vision)
            throw Error("tokens.vision", model.map().family_display + "'s image tokens do not follow its vision tokens one for one (tiled, "
                                         "shuffled or pooled features): choose them before the language model (random, dart, "
                                         "divprune) or drop them in the decoder (fastv, pyramiddrop)");
        if (vision < 0 || block < 0 || block >= model.towers()[vision].num_blocks)
            throw Error("tokens.vision", "block " + std::to_string(block) + " is not a block of the vision tower (" +
                                             std::to_string(vision < 0 ? 0 : model.towers()[vision].num_blocks) + ")");
        if (p.contextual > 0 && (!caps.image_tokens_follow_vision || block != model.towers()[vision].num_blocks - 1))
            throw Error("tokens.method", "VisionZip merges the vision tower's output tokens into image tokens, which " +
                                             model.map().family_display + " does not take one for one");
        hook.after.insert({vision, block});
    }
    for (const auto& [layer, keep] : p.language) {
        if (keep >= 1.0) continue;
        if (language < 0 || layer < 0 || layer >= model.towers()[language].num_blocks)
            throw Error(p.source.method.empty() ? "tokens.language_after" : "tokens.layer",
                        std::to_string(layer) + " is not a block of the language tower");
        hook.after.insert({language, layer});
    }
    if (p.select != TokenSelect::None && p.select_keep < 1.0) {
        if (!image_tokens)
            throw Error("tokens.method", p.source.method + " chooses image tokens before a language model, which " + model.map().family_display +
                                             " has not");
        hook.before_language = [p](const at::Tensor& embeds, const at::Tensor& images) { return chosen_image_tokens(embeds, images, p); };
    }
    const Vlm* m = &model;
    hook.apply = [m, p, vision, group](int tower, int block, StageState& s, const at::Tensor& probs) {
        const double keep = tower == vision ? p.vision.at(block) : p.language.at(block);
        at::Tensor scores = token_scores(*m, tower, block, s, probs, p.metric);
        if (tower == vision && p.contextual > 0) {
            merge_visionzip(s, scores, keep, p.contextual, m->capabilities().vision_cls);
            return;
        }
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
