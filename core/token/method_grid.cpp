#include "core/token/method_grid.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

#include "core/error.h"
#include "core/token/image_tokens.h"
#include "core/token/token_method.h"
#include "core/token/token_pruning.h"
#include "core/token/token_selection.h"

namespace ps {
namespace {

// square_grid of `scores`, with `dropped` [n] bool marked.
TokenGrid square(const at::Tensor& scores, const at::Tensor& dropped) {
    TokenGrid g = square_grid(scores);
    const at::Tensor d = dropped.to(at::kCPU, at::kByte).contiguous();
    g.dropped.assign(d.data_ptr<uint8_t>(), d.data_ptr<uint8_t>() + d.numel());
    return g;
}

// Restores the model's token hook when it leaves scope.
struct HookGuard {
    Vlm& model;
    TokenHook saved;
    explicit HookGuard(Vlm& m) : model(m), saved(m.token_hook()) {}
    ~HookGuard() { model.set_token_hook(saved); }
};

}  // namespace

TokenGrid method_token_grid(Vlm& model, const VlmInputs& in, const TokenOptions& t) {
    at::NoGradGuard no_grad;
    const TokenMethod* m = find_token_method(t.method);
    if (!m) throw Error("tokens.method", "\"" + t.method + "\" is not a token method (" + token_method_names() + ")");
    if (!model.capabilities().image_tokens_follow_vision)
        throw Error("tokens", "side-by-side token grids need a model whose image tokens are its vision patches one for one "
                              "(LLaVA-1.5, the generative default), not " + model.map().family_display);
    HookGuard guard(model);
    model.set_token_hook({});
    const TokenPruning p = TokenPruning::from_plan(t, model);
    const int vision = tower_index(model, Modality::Vision);
    const int64_t c0 = model.capabilities().vision_cls ? 1 : 0;

    if (m->stage == TokenStage::Vision) {  // scored where the method scores, before the projector
        const int block = p.vision.empty() ? model.towers()[vision].num_blocks - 1 : p.vision.begin()->first;
        const double keep = p.vision.empty() ? 1.0 : p.vision.begin()->second;
        StageState s = model.embed(vision, in, {});
        for (int i = 0; i < block; ++i) model.block(vision, i, s);
        at::Tensor probs;
        model.block(vision, block, s, &probs);
        const at::Tensor scores = token_scores(model, vision, block, s, probs, p.metric)[0].slice(0, c0);
        const int64_t n = scores.numel(), k = kept_tokens(n, keep);
        if (p.contextual > 0) {
            const int64_t c = std::llround(static_cast<double>(k) * p.contextual);
            const MergedTokens z = visionzip_tokens(s.hidden[0].slice(0, c0), scores, k - c, c);
            return square(at::where(z.merged_into.ge(0), 0.5, 1.0), at::zeros({n}, at::kBool));
        }
        at::Tensor dropped = at::ones({n}, at::kBool).index_fill(0, std::get<1>(scores.topk(k)).cpu(), false);
        return square(scores, dropped);
    }
    // Before or inside the language model: the prompt positions left after the last drop.
    const int language = tower_index(model, Modality::Language);
    std::vector<StageState> done;
    for (int i = 0; i < language; ++i) done.push_back(model.run_tower(i, in, done));
    const at::Tensor slots = model.embed(language, in, done).image_slots[0].cpu();
    install_token_pruning(model, p);
    const StageState last = model.run_tower(language, in, done);
    at::Tensor kept = at::ones(slots.sizes(), at::kBool);
    if (last.prompt_index.defined()) kept = at::zeros(slots.sizes(), at::kBool).index_fill(0, last.prompt_index[0].cpu(), true);
    const at::Tensor image_kept = kept.masked_select(slots);
    return square(image_kept.to(at::kFloat), image_kept.logical_not());
}

}  // namespace ps
