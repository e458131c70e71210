#include "core/data/image_processor_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

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
    } else if (base == "Idefics3ImageProcessor" || base == "SmolVLMImageProcessor") {
        cfg.resample = ResampleFilter::Lanczos;
        cfg.do_convert_rgb = true;
        cfg.longest_edge = 4 * 364;
        cfg.max_image_size = 364;
    } else if (base == "BlipImageProcessor") {
        cfg.height = cfg.width = 384;
        cfg.image_mean = kClipMean;
        cfg.image_std = kClipStd;
        cfg.do_convert_rgb = true;
    } else if (base == "Gemma3ImageProcessor") {
        cfg.resample = ResampleFilter::Bilinear;
        cfg.do_convert_rgb = true;
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
           "LlavaNextImageProcessor, LlavaOnevisionImageProcessor, GotOcr2ImageProcessor, Idefics3ImageProcessor, "
           "SmolVLMImageProcessor, Gemma3ImageProcessor, BlipImageProcessor)";
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
    // Idefics3ImageProcessor: size and max_image_size {"longest_edge": N}, at most 4096 (the
    // processor's MAX_IMAGE_SIZE), the tiles no larger than the resized image; do_image_splitting.
    void read_splitting(ImageProcessorConfig& cfg) const {
        auto longest = [&](const char* key, int& out) {
            const json* v = find(key);
            if (!v) return;
            if (!v->is_object() || !v->contains("longest_edge"))
                fail(key, R"(expected {"longest_edge": N}, got )" + v->dump());
            out = positive_int((*v)["longest_edge"], std::string(key) + ".longest_edge");
            if (out > 4096) fail(key, "at most 4096 pixels a side, got " + std::to_string(out));
        };
        longest("size", cfg.longest_edge);
        longest("max_image_size", cfg.max_image_size);
        read("do_image_splitting", cfg.do_image_splitting);
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
    if (cfg.max_image_size > 0) r.read_splitting(cfg);
    else if (!cfg.native_resolution) r.read_size("size", by_shortest_edge, cfg.shortest_edge, cfg.height, cfg.width);
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
    bool pan_and_scan = false;  // Gemma3ImageProcessor's extra crops (off by default, as Gemma3Processor passes it)
    r.read("do_pan_and_scan", pan_and_scan);
    if (pan_and_scan) r.fail("do_pan_and_scan", "pan-and-scan crops are not supported");
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

std::array<int, 2> tile_grid(int rows, int cols, const ImageProcessorConfig& cfg) {
    if (rows <= 0 || cols <= 0) throw Error("preprocess", "an image needs at least one pixel a side");
    if (cfg.max_image_size > 0) {
        const SplitSizes s = split_sizes(rows, cols, cfg);
        return s.split ? std::array<int, 2>{s.canvas[0] / cfg.max_image_size, s.canvas[1] / cfg.max_image_size}
                       : std::array<int, 2>{1, 1};
    }
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

SplitSizes split_sizes(int rows, int cols, const ImageProcessorConfig& cfg) {
    SplitSizes s;
    double h = rows, w = cols;
    if (cfg.do_resize) {
        const double max_len = cfg.longest_edge, aspect = w / h;
        if (w >= h) {
            w = max_len;
            h = std::trunc(w / aspect);
            if (std::fmod(h, 2) != 0) h += 1;
        } else {
            h = max_len;
            w = std::trunc(h * aspect);
            if (std::fmod(w, 2) != 0) w += 1;
        }
        h = std::max(h, 1.0);
        w = std::max(w, 1.0);
        const double bounded = 4096, ratio = w / h;
        if (w >= h && w > bounded) {
            w = bounded;
            h = std::trunc(w / ratio);
        } else if (h > w && h > bounded) {
            h = bounded;
            w = std::trunc(h * ratio);
        }
        h = std::max(h, 1.0);
        w = std::max(w, 1.0);
    }
    s.resized = {static_cast<int>(h), static_cast<int>(w)};
    if (!cfg.do_image_splitting) return s;
    const double m = cfg.max_image_size, aspect = w / h;
    if (w >= h) {
        w = std::ceil(w / m) * m;
        h = std::ceil(std::trunc(w / aspect) / m) * m;
    } else {
        h = std::ceil(h / m) * m;
        w = std::ceil(std::trunc(h * aspect) / m) * m;
    }
    const double tiles = (h / m) * (w / m);
    if (tiles > 1024)
        throw Error("preprocess", "an image of " + std::to_string(cols) + "x" + std::to_string(rows) + " pixels would be cut into " +
                                      std::to_string(static_cast<int64_t>(tiles)) + " tiles of " + std::to_string(cfg.max_image_size) +
                                      " pixels; at most 1024");
    s.canvas = {static_cast<int>(h), static_cast<int>(w)};
    s.split = h > m || w > m;
    return s;
}

}  // namespace ps
