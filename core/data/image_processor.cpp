#include "core/data/image_processor.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <limits>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/ends_with.h"
#include "core/error.h"
#include "core/io/json_util.h"

namespace ps {
namespace {

using nlohmann::json;

constexpr std::array<double, 3> kClipMean{0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN
constexpr std::array<double, 3> kClipStd{0.26862954, 0.26130258, 0.27577711};   // OPENAI_CLIP_STD

std::string strip_suffix(const std::string& s, const std::string& suffix) {
    return ends_with(s, suffix) ? s.substr(0, s.size() - suffix.size()) : s;
}

// The constructor defaults of transformers' processor `type`; false for a type not handled here.
bool set_defaults(ImageProcessorConfig& cfg, const std::string& type) {
    cfg = ImageProcessorConfig{};
    cfg.type = type;
    const std::string base = strip_suffix(type, "Fast");
    if (base == "CLIPImageProcessor" || base == "LlavaNextImageProcessor") {
        cfg.shortest_edge = 224;
        cfg.do_center_crop = true;
        cfg.image_mean = kClipMean;
        cfg.image_std = kClipStd;
        cfg.do_convert_rgb = true;
        if (base == "LlavaNextImageProcessor") {
            cfg.grid_pinpoints = {{336, 672}, {672, 336}, {672, 672}, {1008, 336}, {336, 1008}};
            cfg.tile = cfg.crop_height;
        }
    } else if (base == "LlavaOnevisionImageProcessor") {
        cfg.height = cfg.width = 384;
        cfg.image_mean = kClipMean;
        cfg.image_std = kClipStd;
        cfg.do_convert_rgb = true;
        for (int h = 384; h <= 2304; h += 384)  // 1x1 to 6x6 tiles of 384 pixels
            for (int w = 384; w <= 2304; w += 384) cfg.grid_pinpoints.push_back({h, w});
        cfg.tile = cfg.height;
    } else if (base == "GotOcr2ImageProcessor") {
        cfg.height = cfg.width = 384;
        cfg.image_mean = kClipMean;
        cfg.image_std = kClipStd;
        cfg.do_convert_rgb = true;
        cfg.crop_to_patches = true;
    } else if (base == "ViTImageProcessor") {
        cfg.resample = ResampleFilter::Bilinear;
    } else if (base == "Qwen2VLImageProcessor") {
        cfg.native_resolution = true;
        cfg.image_mean = kClipMean;
        cfg.image_std = kClipStd;
        cfg.do_convert_rgb = true;
    } else if (base != "SiglipImageProcessor") {
        return false;
    }
    return true;
}

std::string unsupported(const std::string& type) {
    return "unsupported '" + type +
           "' (supported: CLIPImageProcessor, SiglipImageProcessor, ViTImageProcessor, Qwen2VLImageProcessor, "
           "LlavaNextImageProcessor, LlavaOnevisionImageProcessor, GotOcr2ImageProcessor)";
}

// Qwen2-VL's smart_resize: each side rounded (half to even, as Python's round) to a multiple of
// `factor`, then scaled down or up, keeping the aspect ratio, into [min_pixels, max_pixels].
std::array<int, 2> smart_resize(int rows, int cols, int factor, int64_t min_pixels, int64_t max_pixels) {
    if (static_cast<double>(std::max(rows, cols)) / std::min(rows, cols) > 200)
        throw Error("preprocess", "an image of " + std::to_string(cols) + "x" + std::to_string(rows) +
                                      " pixels: its sides may differ by at most 200 times");
    const double h = rows, w = cols, f = factor;
    double h_bar = std::nearbyint(h / f) * f, w_bar = std::nearbyint(w / f) * f;
    if (h_bar * w_bar > static_cast<double>(max_pixels)) {
        const double beta = std::sqrt(h * w / static_cast<double>(max_pixels));
        h_bar = std::max(f, std::floor(h / beta / f) * f);
        w_bar = std::max(f, std::floor(w / beta / f) * f);
    } else if (h_bar * w_bar < static_cast<double>(min_pixels)) {
        const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
        h_bar = std::ceil(h * beta / f) * f;
        w_bar = std::ceil(w * beta / f) * f;
    }
    return {static_cast<int>(h_bar), static_cast<int>(w_bar)};
}

// Reads the optional fields of one preprocessor_config.json; null or absent keeps the default.
class FieldReader {
public:
    FieldReader(const json& j, const std::string& path) : j_(j), path_(path) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw Error(path_, "field '" + field + "': " + what);
    }
    const json* find(const char* key) const {
        auto it = j_.find(key);
        return it == j_.end() || it->is_null() ? nullptr : &*it;
    }
    void read(const char* key, bool& out) const {
        if (const json* v = find(key)) {
            if (!v->is_boolean()) fail(key, "expected true or false, got " + v->dump());
            out = v->get<bool>();
        }
    }
    void read(const char* key, double& out) const {
        if (const json* v = find(key)) {
            if (!v->is_number()) fail(key, "expected a number, got " + v->dump());
            out = v->get<double>();
        }
    }
    int positive_int(const json& v, const std::string& field) const {
        if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > 1 << 16)
            fail(field, "expected a positive integer, got " + v.dump());
        return v.get<int>();
    }
    // transformers' size dicts: {"height", "width"}, or {"shortest_edge"} where allowed; a bare
    // integer is the square size (or the shortest edge, for processors that resize by it).
    void read_size(const char* key, bool allow_shortest, int& shortest, int& height, int& width) const {
        const json* v = find(key);
        if (!v) return;
        if (v->is_number()) {
            const int n = positive_int(*v, key);
            if (allow_shortest) {
                shortest = n;
            } else {
                height = width = n;
            }
            return;
        }
        const std::string expected = allow_shortest ? R"({"shortest_edge": N} or {"height": H, "width": W})"
                                                    : R"({"height": H, "width": W})";
        if (!v->is_object()) fail(key, "expected " + expected + ", got " + v->dump());
        if (allow_shortest && v->contains("shortest_edge")) {
            shortest = positive_int((*v)["shortest_edge"], std::string(key) + ".shortest_edge");
        } else if (v->contains("height") && v->contains("width")) {
            shortest = 0;
            height = positive_int((*v)["height"], std::string(key) + ".height");
            width = positive_int((*v)["width"], std::string(key) + ".width");
        } else {
            fail(key, "expected " + expected + ", got " + v->dump());
        }
    }
    void read_rgb(const char* key, std::array<double, 3>& out, bool nonzero) const {
        const json* v = find(key);
        if (!v) return;
        const bool ok = v->is_number() || (v->is_array() && v->size() == 3 &&
                                           std::all_of(v->begin(), v->end(), [](const json& e) { return e.is_number(); }));
        if (!ok) fail(key, "expected a number or a list of 3 numbers, got " + v->dump());
        for (int c = 0; c < 3; ++c) {
            out[c] = v->is_number() ? v->get<double>() : (*v)[c].get<double>();
            if (nonzero && out[c] == 0.0) fail(key, "must not be 0");
        }
    }
    // Qwen2VLImageProcessor: size {"shortest_edge": min pixels, "longest_edge": max pixels}, which
    // min_pixels and max_pixels override; the patch, temporal patch and merge sizes.
    void read_native_resolution(ImageProcessorConfig& cfg) const {
        if (const json* v = find("size")) {
            if (!v->is_object() || !v->contains("shortest_edge") || !v->contains("longest_edge"))
                fail("size", R"(expected {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}, got )" + v->dump());
            cfg.min_pixels = pixel_count((*v)["shortest_edge"], "size.shortest_edge");
            cfg.max_pixels = pixel_count((*v)["longest_edge"], "size.longest_edge");
        }
        if (const json* v = find("min_pixels")) cfg.min_pixels = pixel_count(*v, "min_pixels");
        if (const json* v = find("max_pixels")) cfg.max_pixels = pixel_count(*v, "max_pixels");
        if (cfg.min_pixels > cfg.max_pixels)
            fail("min_pixels", std::to_string(cfg.min_pixels) + " is more than max_pixels " + std::to_string(cfg.max_pixels));
        if (const json* v = find("patch_size")) cfg.patch_size = positive_int(*v, "patch_size");
        if (const json* v = find("temporal_patch_size")) cfg.temporal_patch_size = positive_int(*v, "temporal_patch_size");
        if (const json* v = find("merge_size")) cfg.merge_size = positive_int(*v, "merge_size");
    }
    // Anyres processors: image_grid_pinpoints, a non-empty list of [height, width].
    void read_pinpoints(std::vector<std::array<int, 2>>& out) const {
        const json* v = find("image_grid_pinpoints");
        if (!v) return;
        if (!v->is_array() || v->empty()) fail("image_grid_pinpoints", "expected a list of [height, width], got " + v->dump());
        out.clear();
        for (size_t i = 0; i < v->size(); ++i) {
            const json& e = (*v)[i];
            const std::string field = "image_grid_pinpoints[" + std::to_string(i) + "]";
            if (!e.is_array() || e.size() != 2) fail(field, "expected [height, width], got " + e.dump());
            out.push_back({positive_int(e[0], field + "[0]"), positive_int(e[1], field + "[1]")});
            if (out.back()[0] > 8192 || out.back()[1] > 8192) fail(field, "tiles images at most 8192 pixels a side, got " + e.dump());
        }
    }
    // GotOcr2ImageProcessor: 1 <= min_patches <= max_patches <= 64.
    void read_patch_counts(ImageProcessorConfig& cfg) const {
        if (const json* v = find("min_patches")) cfg.min_patches = positive_int(*v, "min_patches");
        if (const json* v = find("max_patches")) cfg.max_patches = positive_int(*v, "max_patches");
        if (cfg.max_patches > 64) fail("max_patches", "at most 64 tiles, got " + std::to_string(cfg.max_patches));
        if (cfg.min_patches > cfg.max_patches)
            fail("min_patches", std::to_string(cfg.min_patches) + " is more than max_patches " + std::to_string(cfg.max_patches));
    }
    int64_t pixel_count(const json& v, const std::string& field) const {
        if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 40))
            fail(field, "expected a positive number of pixels, got " + v.dump());
        return v.get<int64_t>();
    }
    void read_resample(ResampleFilter& out) const {
        const json* v = find("resample");
        if (!v) return;
        if (!v->is_number_integer() || !resample_filter_name(v->get<int>()))
            fail("resample", "expected a PIL filter 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or "
                             "5 (hamming), got " + v->dump());
        out = static_cast<ResampleFilter>(v->get<int>());
    }

private:
    const json& j_;
    const std::string& path_;
};

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

}  // namespace

ImageProcessorConfig image_processor_defaults(const std::string& type) {
    ImageProcessorConfig cfg;
    if (!set_defaults(cfg, type)) throw Error("image_processor_type", unsupported(type));
    return cfg;
}

ImageProcessorConfig read_image_processor_config(const std::string& path) {
    const std::string file =
        std::filesystem::is_directory(path) ? (std::filesystem::path(path) / "preprocessor_config.json").string() : path;
    const json j = read_json_file(file);
    if (!j.is_object()) throw Error(file, "expected a JSON object");
    const FieldReader r(j, file);

    // Older checkpoints name a feature extractor ("CLIPFeatureExtractor") instead.
    std::string type;
    if (const json* v = r.find("image_processor_type")) {
        if (!v->is_string()) r.fail("image_processor_type", "expected a string, got " + v->dump());
        type = v->get<std::string>();
    } else if (const json* v = r.find("feature_extractor_type"); v && v->is_string()) {
        type = strip_suffix(v->get<std::string>(), "FeatureExtractor") + "ImageProcessor";
    } else {
        r.fail("image_processor_type", "missing");
    }
    ImageProcessorConfig cfg;
    if (!set_defaults(cfg, type)) r.fail("image_processor_type", unsupported(type));
    const bool by_shortest_edge = cfg.shortest_edge > 0;
    r.read("do_resize", cfg.do_resize);
    if (!cfg.native_resolution) r.read_size("size", by_shortest_edge, cfg.shortest_edge, cfg.height, cfg.width);
    r.read_resample(cfg.resample);
    r.read("do_center_crop", cfg.do_center_crop);
    int unused = 0;
    r.read_size("crop_size", false, unused, cfg.crop_height, cfg.crop_width);
    r.read("do_rescale", cfg.do_rescale);
    r.read("rescale_factor", cfg.rescale_factor);
    r.read("do_normalize", cfg.do_normalize);
    r.read_rgb("image_mean", cfg.image_mean, false);
    r.read_rgb("image_std", cfg.image_std, true);
    r.read("do_convert_rgb", cfg.do_convert_rgb);
    if (cfg.native_resolution) r.read_native_resolution(cfg);
    if (cfg.crop_to_patches) r.read_patch_counts(cfg);
    if (!cfg.grid_pinpoints.empty()) {
        r.read_pinpoints(cfg.grid_pinpoints);
        // get_image_patches' patch size: LLaVA-NeXT's crop height, OneVision's size height.
        cfg.tile = cfg.shortest_edge > 0 ? cfg.crop_height : cfg.height;
    }
    return cfg;
}

std::array<int, 2> resized_size(int rows, int cols, const ImageProcessorConfig& cfg) {
    if (cfg.native_resolution) return smart_resize(rows, cols, cfg.patch_size * cfg.merge_size, cfg.min_pixels, cfg.max_pixels);
    if (cfg.shortest_edge <= 0) return {cfg.height, cfg.width};
    // transformers' get_resize_output_image_size(default_to_square=False): the long side is
    // int(shortest_edge * long / short), truncated.
    const bool portrait = cols <= rows;
    const int short_side = portrait ? cols : rows, long_side = portrait ? rows : cols;
    const int s = cfg.shortest_edge;
    const int new_long = static_cast<int>(static_cast<double>(static_cast<int64_t>(s) * long_side) / short_side);
    return portrait ? std::array<int, 2>{new_long, s} : std::array<int, 2>{s, new_long};
}

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

std::array<int, 2> best_resolution(int rows, int cols, const std::vector<std::array<int, 2>>& pinpoints) {
    if (pinpoints.empty()) throw Error("preprocess", "no grid pinpoints to tile the image at");
    std::array<int, 2> best = pinpoints.front();
    int64_t most_kept = 0, least_wasted = std::numeric_limits<int64_t>::max();
    for (const auto& [h, w] : pinpoints) {
        // In double, truncated, as the Python does.
        const double scale = std::min(static_cast<double>(w) / cols, static_cast<double>(h) / rows);
        const auto scaled_w = static_cast<int64_t>(cols * scale), scaled_h = static_cast<int64_t>(rows * scale);
        const int64_t kept = std::min(scaled_w * scaled_h, static_cast<int64_t>(cols) * rows);
        const int64_t wasted = static_cast<int64_t>(w) * h - kept;
        if (kept > most_kept || (kept == most_kept && wasted < least_wasted)) {
            most_kept = kept;
            least_wasted = wasted;
            best = {h, w};
        }
    }
    return best;
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

std::array<int, 2> tile_grid(int rows, int cols, const ImageProcessorConfig& cfg) {
    if (rows <= 0 || cols <= 0) throw Error("preprocess", "an image needs at least one pixel a side");
    if (!cfg.crop_to_patches || cfg.max_patches <= 1) return {1, 1};
    // get_all_supported_aspect_ratios: (columns, rows) of min..max tiles, by tile count (stable).
    std::vector<std::array<int, 2>> grids;
    for (int w = 1; w <= cfg.max_patches; ++w)
        for (int h = 1; h <= cfg.max_patches; ++h)
            if (w * h <= cfg.max_patches && w * h >= cfg.min_patches) grids.push_back({w, h});
    std::stable_sort(grids.begin(), grids.end(), [](const auto& a, const auto& b) { return a[0] * a[1] < b[0] * b[1]; });
    const double aspect = static_cast<double>(cols) / rows, area = static_cast<double>(cols) * rows;
    double best_diff = std::numeric_limits<double>::infinity();
    std::array<int, 2> best{1, 1};
    for (const auto& g : grids) {
        const double diff = std::abs(aspect - static_cast<double>(g[0]) / g[1]);
        if (diff < best_diff) {
            best_diff = diff;
            best = g;
        } else if (diff == best_diff && area > 0.5 * cfg.height * cfg.width * g[0] * g[1]) {
            best = g;
        }
    }
    return {best[1], best[0]};
}

at::Tensor crop_tiles(const cv::Mat& rgb, const ImageProcessorConfig& cfg) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("preprocess", "expected a non-empty 8-bit RGB image");
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
