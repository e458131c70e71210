#include "core/token/image_tokens.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>

#include "core/error.h"
#include "core/token/token_pruning.h"

namespace ps {
namespace {

int tower_of(const Vlm& model, Modality m, const std::string& what) {
    const int t = tower_index(model, m);
    if (t < 0) throw Error(model.map().family, "has no " + what);
    return t;
}

void check_block(const Vlm& model, int tower, int block) {
    const TowerInfo& t = model.towers()[tower];
    if (block < 0 || block >= t.num_blocks)
        throw Error("--layer", std::to_string(block) + " is not a block of the " + t.name + " tower (0.." +
                                   std::to_string(t.num_blocks - 1) + ")");
}

std::vector<TokenGrid> to_grids(const at::Tensor& scores) {  // [B,P]
    const int64_t p = scores.size(1);
    const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(p))));
    if (static_cast<int64_t>(side) * side != p)
        throw Error("image tokens", std::to_string(p) + " patch tokens do not form a square grid");
    at::Tensor s = scores.to(at::kCPU, at::kFloat).contiguous();
    std::vector<TokenGrid> out;
    for (int64_t b = 0; b < s.size(0); ++b) {
        TokenGrid g;
        g.rows = g.cols = side;
        const float* row = s[b].data_ptr<float>();
        g.scores.assign(row, row + p);
        out.push_back(std::move(g));
    }
    return out;
}

}  // namespace

std::vector<TokenGrid> image_token_importance(const Vlm& model, const VlmInputs& in, int block, TokenMetric metric) {
    at::NoGradGuard no_grad;
    if (!in.pixel_values.defined()) throw Error("image tokens", "no image given");
    const int vision = tower_of(model, Modality::Vision, "vision tower");
    if (metric != TokenMetric::Text) {
        check_block(model, vision, block);
        StageState s = model.embed(vision, in, {});
        for (int i = 0; i < block; ++i) model.block(vision, i, s);
        at::Tensor probs;
        model.block(vision, block, s, &probs);
        return to_grids(token_scores(model, vision, block, s, probs, metric).slice(1, 1));  // patches, without [CLS]
    }
    if (!model.capabilities().image_tokens_in_language) throw Error("tokens.metric", text_guided_unavailable(model));
    const int language = tower_of(model, Modality::Language, "language tower");
    check_block(model, language, block);
    std::vector<StageState> done;
    for (int t = 0; t < language; ++t) done.push_back(model.run_tower(t, in, done));
    StageState s = model.embed(language, in, done);
    for (int i = 0; i < block; ++i) model.block(language, i, s);
    at::Tensor probs;
    model.block(language, block, s, &probs);
    const at::Tensor scores = last_token_attention(probs);  // [B,N]
    const int64_t images = s.image_slots.sum(1).min().item<int64_t>();
    if (images == 0 || !s.image_slots.sum(1).eq(images).all().item<bool>())
        throw Error("image tokens", "every prompt needs exactly one image");
    return to_grids(scores.masked_select(s.image_slots.to(scores.device())).view({scores.size(0), images}));
}

cv::Mat model_view(const at::Tensor& pixel_values, const ImageProcessorConfig& cfg) {
    if (pixel_values.dim() != 3 || pixel_values.size(0) != 3) throw Error("pixel_values", "expected one image [3,H,W]");
    at::Tensor x = pixel_values.to(at::kCPU, at::kFloat);
    if (cfg.do_normalize) {
        const at::Tensor mean = at::tensor({cfg.image_mean[0], cfg.image_mean[1], cfg.image_mean[2]}).to(at::kFloat);
        const at::Tensor std = at::tensor({cfg.image_std[0], cfg.image_std[1], cfg.image_std[2]}).to(at::kFloat);
        x = x * std.view({3, 1, 1}) + mean.view({3, 1, 1});
    }
    if (cfg.do_rescale) x = x / cfg.rescale_factor;
    at::Tensor hwc = x.round().clamp(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
    cv::Mat out(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3);
    std::memcpy(out.data, hwc.data_ptr<uint8_t>(), hwc.numel());
    return out;
}

}  // namespace ps
