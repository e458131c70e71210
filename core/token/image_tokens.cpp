#include "core/token/image_tokens.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>

#include "core/error.h"
#include "core/model/anyres.h"
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

TokenGrid grid_of(const float* scores, int rows, int cols) {
    TokenGrid g;
    g.rows = rows;
    g.cols = cols;
    g.scores.assign(scores, scores + static_cast<size_t>(rows) * cols);
    return g;
}

// Scores [B,P] of square images, one a row.
std::vector<TokenGrid> square_grids(const at::Tensor& scores) {
    std::vector<TokenGrid> out;
    for (int64_t b = 0; b < scores.size(0); ++b) out.push_back(square_grid(scores[b]));
    return out;
}

// The merged tokens' scores of native-resolution images, image after image, each image's in the
// row-major order of its grid of image_grid_thw / merge.
std::vector<TokenGrid> native_grids(const Vlm& model, const at::Tensor& grid_thw, const at::Tensor& scores) {
    const int64_t merge = std::lround(std::sqrt(static_cast<double>(model.capabilities().vision_token_group)));
    const at::Tensor grid = grid_thw.to(at::kCPU, at::kLong);
    const at::Tensor s = scores.reshape({-1}).to(at::kCPU, at::kFloat).contiguous();
    std::vector<TokenGrid> out;
    int64_t from = 0;
    for (int64_t i = 0; i < grid.size(0); ++i) {
        const int rows = static_cast<int>(grid[i][0].item<int64_t>() * grid[i][1].item<int64_t>() / merge);
        const int cols = static_cast<int>(grid[i][2].item<int64_t>() / merge);
        if (from + int64_t{rows} * cols > s.numel()) throw Error("image tokens", "fewer scores than the images' merged tokens");
        out.push_back(grid_of(s.data_ptr<float>() + from, rows, cols));
        from += int64_t{rows} * cols;
    }
    if (from != s.numel()) throw Error("image tokens", "more scores than the images' merged tokens");
    return out;
}

// Images cropped into tiles (image_tiles): each image's tiles as one grid, laid out as they sit in
// the image; its thumbnail is left out. `scores` [views, n] hold each view's n = s x s scores in
// row-major order (the vision tower's patches, or the decoder's image tokens of a view).
std::vector<TokenGrid> cropped_grids(const at::Tensor& image_tiles, const at::Tensor& scores) {
    const at::Tensor grid = image_tiles.to(at::kCPU, at::kLong);
    const int64_t views = tile_views(grid).sum().item<int64_t>();
    if (views == 0 || scores.numel() % views) throw Error("image tokens", "scores do not split evenly over the images' views");
    const int64_t n = scores.numel() / views, side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(n))));
    if (side * side != n) throw Error("image tokens", std::to_string(n) + " scores a view are not a square grid");
    const at::Tensor s = scores.reshape({views, side, side}).to(at::kCPU, at::kFloat);
    std::vector<TokenGrid> out;
    int64_t view = 0;
    for (int64_t i = 0; i < grid.size(0); ++i) {
        const int64_t rows = grid[i][0].item<int64_t>(), cols = grid[i][1].item<int64_t>();
        const at::Tensor map = s.narrow(0, view, rows * cols)
                                   .view({rows, cols, side, side})
                                   .permute({0, 2, 1, 3})
                                   .reshape({rows * side, cols * side})
                                   .contiguous();
        out.push_back(grid_of(map.data_ptr<float>(), static_cast<int>(rows * side), static_cast<int>(cols * side)));
        view += tile_views({static_cast<int>(rows), static_cast<int>(cols)});
    }
    return out;
}

// Tiled images (image_sizes): each image's tiles as one grid, laid out as they sit in the padded
// image. `scores` are the vision tower's, [views, side^2] with each image's global view before its
// tiles, or with `packed` the image tokens' as the decoder reads them (the global view's, then the
// kept rows of the tiles' map with a newline each), where the cut-off padding scores 0 and a map
// OneVision scaled down is scaled back up (nearest).
std::vector<TokenGrid> tiled_grids(const Vlm& model, const at::Tensor& image_sizes, const at::Tensor& scores, bool packed) {
    const auto* tiled = dynamic_cast<const TiledVlm*>(&model);
    if (!tiled || !tiled->anyres()) throw Error("image_sizes", "given to a model that does not tile its images");
    const AnyresGeometry& g = *tiled->anyres();
    const int64_t side = g.side;
    const at::Tensor sizes = image_sizes.to(at::kCPU, at::kLong);
    const at::Tensor s = scores.reshape({-1}).to(at::kCPU, at::kFloat);
    std::vector<TokenGrid> out;
    int64_t from = 0;
    for (int64_t i = 0; i < sizes.size(0); ++i) {
        const AnyresLayout l = g.layout(sizes[i][0].item<int64_t>(), sizes[i][1].item<int64_t>());
        const int64_t rows = l.grid_rows * side, cols = l.grid_cols * side, tiles = l.grid_rows * l.grid_cols;
        const int64_t n = packed ? l.tokens(side) : (1 + tiles) * side * side;
        if (from + n > s.numel()) throw Error("image tokens", "fewer scores than the images' tokens");
        at::Tensor map;
        if (packed) {
            at::Tensor kept = s.narrow(0, from + side * side, l.packed_rows * (l.packed_cols + 1))
                                  .view({l.packed_rows, l.packed_cols + 1})
                                  .narrow(1, 0, l.packed_cols);
            // A map scaled down (OneVision) shows each packed token over the features it stands for.
            if (l.packed_rows != l.rows || l.packed_cols != l.cols)
                kept = at::upsample_nearest2d(kept.unsqueeze(0).unsqueeze(0), {l.rows, l.cols})[0][0];
            map = at::zeros({rows, cols}, at::kFloat);
            map.narrow(0, l.row0, l.rows).narrow(1, l.col0, l.cols).copy_(kept);
        } else {
            map = s.narrow(0, from + side * side, tiles * side * side)
                      .view({l.grid_rows, l.grid_cols, side, side})
                      .permute({0, 2, 1, 3})
                      .reshape({rows, cols})
                      .contiguous();
        }
        out.push_back(grid_of(map.data_ptr<float>(), static_cast<int>(rows), static_cast<int>(cols)));
        from += n;
    }
    if (from != s.numel()) throw Error("image tokens", "more scores than the images' tokens");
    return out;
}

}  // namespace

TokenGrid square_grid(const at::Tensor& scores) {
    const int64_t p = scores.numel();
    const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(p))));
    if (static_cast<int64_t>(side) * side != p)
        throw Error("image tokens", std::to_string(p) + " patch tokens do not form a square grid");
    const at::Tensor s = scores.reshape({-1}).to(at::kCPU, at::kFloat).contiguous();
    return grid_of(s.data_ptr<float>(), side, side);
}

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
        at::Tensor scores = token_scores(model, vision, block, s, probs, metric);
        if (model.capabilities().vision_cls) scores = scores.slice(1, 1);  // patches, without [CLS]
        if (in.image_sizes.defined()) return tiled_grids(model, in.image_sizes, scores, false);
        if (in.image_tiles.defined()) return cropped_grids(in.image_tiles, scores);
        if (!in.image_grid_thw.defined()) return square_grids(scores);
        // Native resolution: back to the processor's patch order, then a mean per merged token.
        const int64_t group = model.capabilities().vision_token_group;
        const at::Tensor patches = at::zeros({scores.size(1)}, scores.options()).index_put_({s.positions.reshape({-1})}, scores[0]);
        return native_grids(model, in.image_grid_thw, patches.view({-1, group}).mean(1));
    }
    if (!model.capabilities().image_tokens_in_language) throw Error("tokens.metric", text_guided_unavailable(model));
    if (!model.capabilities().image_tokens_spatial)
        throw Error("tokens.metric", model.map().family_display + "'s image tokens are learned queries, not places in the image: "
                                                                  "text-guided importance has no map to draw");
    const int language = tower_of(model, Modality::Language, "language tower");
    check_block(model, language, block);
    std::vector<StageState> done;
    for (int t = 0; t < language; ++t) done.push_back(model.run_tower(t, in, done));
    StageState s = model.embed(language, in, done);
    for (int i = 0; i < block; ++i) model.block(language, i, s);
    at::Tensor probs;
    model.block(language, block, s, &probs);
    const at::Tensor scores = last_token_attention(probs);  // [B,N]
    const at::Tensor image_scores = scores.masked_select(s.image_slots.to(scores.device()));
    if (in.image_grid_thw.defined()) return native_grids(model, in.image_grid_thw, image_scores);
    if (in.image_sizes.defined()) return tiled_grids(model, in.image_sizes, image_scores, true);
    if (in.image_tiles.defined()) return cropped_grids(in.image_tiles, image_scores);
    const int64_t images = s.image_slots.sum(1).min().item<int64_t>();
    if (images == 0 || !s.image_slots.sum(1).eq(images).all().item<bool>())
        throw Error("image tokens", "every prompt needs exactly one image");
    return square_grids(image_scores.view({scores.size(0), images}));
}

cv::Mat model_view(const VlmInputs& in, int64_t image, const ImageProcessorConfig& cfg) {
    at::Tensor x;
    if (in.image_grid_thw.defined()) {
        const at::Tensor grid = in.image_grid_thw.to(at::kCPU, at::kLong);
        if (image < 0 || image >= grid.size(0)) throw Error("pixel_values", "has no image " + std::to_string(image));
        const int64_t first = image == 0 ? 0 : grid.slice(0, 0, image).prod(1).sum().item<int64_t>();
        const int64_t t = grid[image][0].item<int64_t>(), rows = grid[image][1].item<int64_t>(), cols = grid[image][2].item<int64_t>();
        x = patches_image(in.pixel_values.narrow(0, first, t * rows * cols).to(at::kCPU, at::kFloat), t * rows, cols, cfg);
    } else if (in.image_tiles.defined()) {  // cropped into tiles: the tiles put back together
        const at::Tensor grid = in.image_tiles.to(at::kCPU, at::kLong);
        if (image < 0 || image >= grid.size(0) || in.pixel_values.dim() != 4)
            throw Error("pixel_values", "has no cropped image " + std::to_string(image));
        const int64_t first = tile_views(grid).slice(0, 0, image).sum().item<int64_t>();
        const int64_t rows = grid[image][0].item<int64_t>(), cols = grid[image][1].item<int64_t>();
        const int64_t h = in.pixel_values.size(2), w = in.pixel_values.size(3);
        if (in.pixel_values.size(0) < first + rows * cols) throw Error("pixel_values", "has fewer views than image_tiles gives");
        x = in.pixel_values.narrow(0, first, rows * cols)
                .to(at::kCPU, at::kFloat)
                .view({rows, cols, 3, h, w})
                .permute({2, 0, 3, 1, 4})
                .reshape({3, rows * h, cols * w});
    } else if (in.image_sizes.defined()) {  // tiled: the tiles put back together, padding and all
        const at::Tensor sizes = in.image_sizes.to(at::kCPU, at::kLong);
        if (image < 0 || image >= sizes.size(0) || in.pixel_values.dim() != 5)
            throw Error("pixel_values", "has no tiled image " + std::to_string(image));
        const auto [h, w] = best_resolution(static_cast<int>(sizes[image][0].item<int64_t>()),
                                            static_cast<int>(sizes[image][1].item<int64_t>()), cfg.grid_pinpoints);
        if (cfg.tile <= 0) throw Error("preprocessor_config.json", "image_processor_type " + cfg.type + " does not tile images");
        const int64_t t = cfg.tile, rows = h / t, cols = w / t;
        if (in.pixel_values.size(1) < 1 + rows * cols) throw Error("pixel_values", "has fewer tiles than image " + std::to_string(image) + " needs");
        x = in.pixel_values[image]
                .narrow(0, 1, rows * cols)
                .to(at::kCPU, at::kFloat)
                .view({rows, cols, 3, t, t})
                .permute({2, 0, 3, 1, 4})
                .reshape({3, rows * t, cols * t});
    } else {
        if (in.pixel_values.dim() != 4 || image < 0 || image >= in.pixel_values.size(0) || in.pixel_values.size(1) != 3)
            throw Error("pixel_values", "has no image " + std::to_string(image) + " [3,H,W]");
        x = in.pixel_values[image].to(at::kCPU, at::kFloat);
    }
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
