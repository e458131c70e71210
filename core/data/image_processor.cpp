#include "core/data/image_processor.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include <ATen/Parallel.h>
#include <opencv2/core.hpp>

#include "core/error.h"

namespace ps {
namespace {

// transformers' centre crop: a side longer than the crop is cut from floor((n - c) / 2); a shorter
// one is zero-padded, the image placed at ceil((c - n) / 2).
cv::Mat center_crop(const cv::Mat& img, int crop_h, int crop_w) {
    struct Span {
        int src, dst, len;
    };
    auto span = [](int n, int c) { return n >= c ? Span{(n - c) / 2, 0, c} : Span{0, (c - n + 1) / 2, n}; };
    const Span y = span(img.rows, crop_h), x = span(img.cols, crop_w);
    cv::Mat out = cv::Mat::zeros(crop_h, crop_w, img.type());
    img(cv::Rect(x.src, y.src, x.len, y.len)).copyTo(out(cv::Rect(x.dst, y.dst, x.len, y.len)));
    return out;
}

// uint8 HWC to float32 CHW with the rescale and normalize steps in numpy's precision: the rescale
// multiplies in double and rounds to float, the normalization is float32 arithmetic.
at::Tensor to_tensor(const cv::Mat& img, const ImageProcessorConfig& cfg) {
    float lut[3][256];
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v) {
            float f = cfg.do_rescale ? static_cast<float>(v * cfg.rescale_factor) : static_cast<float>(v);
            if (cfg.do_normalize)
                f = (f - static_cast<float>(cfg.image_mean[c])) / static_cast<float>(cfg.image_std[c]);
            lut[c][v] = f;
        }
    at::Tensor out = at::empty({3, img.rows, img.cols}, at::kFloat);
    float* o = out.data_ptr<float>();
    const int64_t plane = static_cast<int64_t>(img.rows) * img.cols;
    for (int y = 0; y < img.rows; ++y) {
        const uint8_t* p = img.ptr<uint8_t>(y);
        for (int x = 0; x < img.cols; ++x)
            for (int c = 0; c < 3; ++c) o[c * plane + static_cast<int64_t>(y) * img.cols + x] = lut[c][p[x * 3 + c]];
    }
    return out;
}

// Idefics3's views of one image (crop_tiles).
at::Tensor split_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg) {
    const SplitSizes s = split_sizes(rgb.rows, rgb.cols, cfg);
    const int m = cfg.max_image_size;
    cv::Mat img = cfg.do_resize ? pil_resize(rgb, s.resized[1], s.resized[0], cfg.resample) : rgb;
    ImageProcessorConfig pixels = cfg;  // the views are final: rescale and normalize only
    pixels.do_resize = pixels.do_center_crop = false;
    if (!cfg.do_image_splitting) return preprocess(pil_resize(img, m, m, cfg.resample), pixels).unsqueeze(0);
    img = pil_resize(img, s.canvas[1], s.canvas[0], cfg.resample);
    if (!s.split) return preprocess(img, pixels).unsqueeze(0);
    std::vector<at::Tensor> views;
    for (int y = 0; y < s.canvas[0]; y += m)
        for (int x = 0; x < s.canvas[1]; x += m) views.push_back(preprocess(img(cv::Rect(x, y, m, m)).clone(), pixels));
    views.push_back(preprocess(pil_resize(img, m, m, cfg.resample), pixels));
    return at::stack(views);
}

}  // namespace

at::Tensor preprocess(const cv::Mat& rgb, const ImageProcessorConfig& cfg) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("preprocess", "expected a non-empty 8-bit RGB image");
    cv::Mat img = rgb;
    if (cfg.do_resize) {
        const auto [h, w] = resized_size(img.rows, img.cols, cfg);
        img = pil_resize(img, w, h, cfg.resample);
    }
    if (cfg.do_center_crop) img = center_crop(img, cfg.crop_height, cfg.crop_width);
    return to_tensor(img, cfg);
}

at::Tensor preprocess_batch(const std::vector<cv::Mat>& images, const ImageProcessorConfig& cfg) {
    std::vector<at::Tensor> out;
    out.reserve(images.size());
    for (const cv::Mat& img : images) {
        out.push_back(preprocess(img, cfg));
        if (out.back().sizes() != out.front().sizes())
            throw Error("preprocess", "images " + std::to_string(out.size() - 1) + " and 0 give different sizes " +
                                          std::to_string(out.back().size(1)) + "x" + std::to_string(out.back().size(2)) +
                                          " and " + std::to_string(out.front().size(1)) + "x" +
                                          std::to_string(out.front().size(2)) + " (use a centre crop or a fixed size)");
    }
    if (out.empty()) throw Error("preprocess", "no images");
    return at::stack(out);
}

at::Tensor preprocess_gray_batch(const at::Tensor& images, const ImageProcessorConfig& cfg) {
    if (!images.defined() || images.dim() != 3 || images.scalar_type() != at::kByte)
        throw Error("preprocess", "expected grayscale images [N, H, W] of uint8");
    if (images.numel() == 0) throw Error("preprocess", "no images");
    if (images.size(1) > INT_MAX || images.size(2) > INT_MAX)
        throw Error("preprocess", "images of " + std::to_string(images.size(1)) + "x" + std::to_string(images.size(2)) +
                                      " pixels are too large");
    const at::Tensor gray = images.to(at::kCPU).contiguous();
    const int64_t n = gray.size(0);
    const int h = static_cast<int>(gray.size(1)), w = static_cast<int>(gray.size(2));

    const std::array<int, 2> size = cfg.do_resize ? resized_size(h, w, cfg) : std::array<int, 2>{h, w};
    const bool keeps_size = size == std::array<int, 2>{h, w} &&
                            (!cfg.do_center_crop || (cfg.crop_height == h && cfg.crop_width == w));
    if (keeps_size) {
        // Resize and crop would copy the image unchanged; rescale and normalize as to_tensor() does
        // (the rescale in double rounded to float, the normalization in float32), in slices of
        // the batch to bound the double-precision temporary.
        at::Tensor out = at::empty({n, 3, h, w}, at::kFloat);
        std::array<float, 3> mean{}, stdev{};
        for (int c = 0; c < 3; ++c) {
            mean[c] = static_cast<float>(cfg.image_mean[c]);
            stdev[c] = static_cast<float>(cfg.image_std[c]);
        }
        const at::Tensor mean_t = at::tensor(at::ArrayRef<float>(mean.data(), 3)).view({1, 3, 1, 1});
        const at::Tensor std_t = at::tensor(at::ArrayRef<float>(stdev.data(), 3)).view({1, 3, 1, 1});
        const int64_t step = std::max<int64_t>(1, (int64_t{1} << 22) / (static_cast<int64_t>(h) * w));
        for (int64_t s = 0; s < n; s += step) {
            const int64_t e = std::min(n, s + step);
            at::Tensor x = gray.slice(0, s, e).unsqueeze(1);
            x = cfg.do_rescale ? x.to(at::kDouble).mul_(cfg.rescale_factor).to(at::kFloat) : x.to(at::kFloat);
            at::Tensor dst = out.slice(0, s, e);
            if (cfg.do_normalize) {
                at::sub_out(dst, x, mean_t);
                dst.div_(std_t);
            } else {
                dst.copy_(x.expand({e - s, 3, h, w}));
            }
        }
        return out;
    }

    // The general path: each grey plane replicated to RGB and sent through preprocess().
    uint8_t* const base = gray.data_ptr<uint8_t>();
    auto one = [&](int64_t i) {
        const cv::Mat plane(h, w, CV_8UC1, base + i * h * w);
        cv::Mat rgb;
        cv::merge(std::vector<cv::Mat>{plane, plane, plane}, rgb);
        return preprocess(rgb, cfg);
    };
    const at::Tensor first = one(0);
    at::Tensor out = at::empty({n, first.size(0), first.size(1), first.size(2)}, at::kFloat);
    out[0].copy_(first);
    at::parallel_for(1, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i].copy_(one(i));
    });
    return out;
}

at::Tensor anyres_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("preprocess", "expected a non-empty 8-bit RGB image");
    const int tile = cfg.tile;
    if (tile <= 0) throw Error("preprocess", "image_processor_type " + cfg.type + " does not tile images");
    const auto [th, tw] = best_resolution(rgb.rows, rgb.cols, cfg.grid_pinpoints);
    if (th % tile || tw % tile)
        throw Error("preprocess", "grid pinpoint " + std::to_string(th) + "x" + std::to_string(tw) + " is not made of " +
                                      std::to_string(tile) + "x" + std::to_string(tile) + " tiles");
    // get_patch_output_size: the side that scales less fills its target, the other is rounded up.
    const double scale_w = static_cast<double>(tw) / rgb.cols, scale_h = static_cast<double>(th) / rgb.rows;
    int h = th, w = tw;
    if (scale_w < scale_h) h = std::min(static_cast<int>(std::ceil(rgb.rows * scale_w)), th);
    else w = std::min(static_cast<int>(std::ceil(rgb.cols * scale_h)), tw);
    cv::Mat canvas = cv::Mat::zeros(th, tw, CV_8UC3);
    pil_resize(rgb, w, h, cfg.resample).copyTo(canvas(cv::Rect((tw - w) / 2, (th - h) / 2, w, h)));
    // The global view: the processor's size, a square of the shortest edge or height x width.
    const int gh = cfg.shortest_edge > 0 ? cfg.shortest_edge : cfg.height, gw = cfg.shortest_edge > 0 ? cfg.shortest_edge : cfg.width;
    std::vector<at::Tensor> views{preprocess(pil_resize(rgb, gw, gh, cfg.resample), cfg)};
    for (int y = 0; y < th; y += tile)
        for (int x = 0; x < tw; x += tile) views.push_back(preprocess(canvas(cv::Rect(x, y, tile, tile)).clone(), cfg));
    return at::stack(views);
}

at::Tensor crop_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("preprocess", "expected a non-empty 8-bit RGB image");
    if (cfg.max_image_size > 0) return split_tiles(rgb, cfg);
    if (!cfg.crop_to_patches || cfg.max_patches <= 1) return preprocess(rgb, cfg).unsqueeze(0);
    const auto [rows, cols] = tile_grid(rgb.rows, rgb.cols, cfg);
    // crop_image_to_patches resizes with its own default filter, bicubic, whatever `resample` says.
    const cv::Mat canvas = pil_resize(rgb, cols * cfg.width, rows * cfg.height, ResampleFilter::Bicubic);
    std::vector<at::Tensor> views;
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
            views.push_back(preprocess(canvas(cv::Rect(x * cfg.width, y * cfg.height, cfg.width, cfg.height)).clone(), cfg));
    if (rows * cols > 1) views.push_back(preprocess(pil_resize(rgb, cfg.width, cfg.height, ResampleFilter::Bicubic), cfg));
    return at::stack(views);
}

at::Tensor image_patches(const at::Tensor& pixels, const ImageProcessorConfig& cfg, std::array<int64_t, 3>& grid) {
    const int64_t p = cfg.patch_size, m = cfg.merge_size, t = cfg.temporal_patch_size;
    if (pixels.dim() != 3 || pixels.size(0) != 3) throw Error("preprocess", "expected one image [3, H, W]");
    const int64_t h = pixels.size(1), w = pixels.size(2);
    if (h % (p * m) || w % (p * m))
        throw Error("preprocess", "an image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is not made of " +
                                      std::to_string(p * m) + "-pixel squares of merged patches");
    const int64_t gh = h / p, gw = w / p;
    grid = {1, gh, gw};
    // [T, C, gh/m, m, p, gw/m, m, p] -> [gh/m, gw/m, m, m, C, T, p, p]
    return pixels.unsqueeze(0)
        .expand({t, 3, h, w})
        .reshape({t, 3, gh / m, m, p, gw / m, m, p})
        .permute({2, 5, 3, 6, 1, 0, 4, 7})
        .reshape({gh * gw, 3 * t * p * p})
        .contiguous();
}

at::Tensor patches_image(const at::Tensor& patches, int64_t rows, int64_t cols, const ImageProcessorConfig& cfg) {
    const int64_t p = cfg.patch_size, m = cfg.merge_size, t = cfg.temporal_patch_size;
    if (rows % m || cols % m || patches.dim() != 2 || patches.size(0) != rows * cols || patches.size(1) != 3 * t * p * p)
        throw Error("pixel_values", "not the patches of a " + std::to_string(rows) + " x " + std::to_string(cols) + " patch grid");
    // [gh/m, gw/m, m, m, C, T, p, p] -> frame 0 -> [C, gh/m, m, p, gw/m, m, p]
    return patches.reshape({rows / m, cols / m, m, m, 3, t, p, p})
        .select(5, 0)
        .permute({4, 0, 2, 5, 1, 3, 6})
        .reshape({3, rows * p, cols * p})
        .contiguous();
}

}  // namespace ps
