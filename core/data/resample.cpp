#include "core/data/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace ps {
namespace {

// The filters, with PIL's exact expressions (its float constants in hamming included) so that
// the double coefficients, and hence their fixed-point roundings, come out identical.
double box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

double triangle(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming(double x) {
    x = std::fabs(x);
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x *= M_PI;
    return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

double cubic(double x) {  // Keys cubic convolution with a = -0.5
    const double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return std::sin(x) / x;
}

double lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct Kernel {
    double (*fn)(double);
    double support;  // radius at scale 1
};

Kernel kernel(ResampleFilter f) {
    switch (f) {
        case ResampleFilter::Box: return {box, 0.5};
        case ResampleFilter::Bilinear: return {triangle, 1.0};
        case ResampleFilter::Hamming: return {hamming, 1.0};
        case ResampleFilter::Bicubic: return {cubic, 2.0};
        case ResampleFilter::Lanczos: return {lanczos, 3.0};
    }
    throw Error("resample", "unknown filter");
}

// Weights carry 22 fractional bits: 8 bits of pixel and 2 of headroom for overshoot in int32.
constexpr int kPrecisionBits = 32 - 8 - 2;

// For each output position along one axis: the first input index, how many inputs it reads, and
// their fixed-point weights (`ksize` slots per output).
struct Weights {
    int ksize = 0;
    std::vector<int> first, count;
    std::vector<int32_t> w;
};

Weights compute_weights(int in_size, int out_size, const Kernel& k) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);  // widen the kernel when downscaling
    const double support = k.support * filterscale;
    Weights r;
    r.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    r.first.resize(out_size);
    r.count.resize(out_size);
    r.w.assign(static_cast<size_t>(out_size) * r.ksize, 0);
    std::vector<double> d(r.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int n = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
        double sum = 0.0;
        for (int x = 0; x < n; ++x) {
            d[x] = k.fn((x + xmin - center + 0.5) * ss);
            sum += d[x];
        }
        int32_t* w = &r.w[static_cast<size_t>(xx) * r.ksize];
        for (int x = 0; x < n; ++x) {
            const double v = sum != 0.0 ? d[x] / sum : d[x];
            const double fixed = v * (1 << kPrecisionBits);
            w[x] = static_cast<int32_t>(v < 0 ? -0.5 + fixed : 0.5 + fixed);
        }
        r.first[xx] = xmin;
        r.count[xx] = n;
    }
    return r;
}

inline uint8_t clip8(int32_t acc) {
    const int32_t v = acc >> kPrecisionBits;
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

// Rows [row0, row0 + rows) of src resampled along x.
cv::Mat pass_horizontal(const cv::Mat& src, int row0, int rows, int width, const Weights& wt) {
    const int ch = src.channels();
    cv::Mat out(rows, width, src.type());
    for (int y = 0; y < rows; ++y) {
        const uint8_t* in = src.ptr<uint8_t>(row0 + y);
        uint8_t* o = out.ptr<uint8_t>(y);
        for (int xx = 0; xx < width; ++xx) {
            const int32_t* w = &wt.w[static_cast<size_t>(xx) * wt.ksize];
            const uint8_t* p = in + wt.first[xx] * ch;
            for (int c = 0; c < ch; ++c) {
                int32_t acc = kHalf;
                for (int x = 0; x < wt.count[xx]; ++x) acc += p[x * ch + c] * w[x];
                o[xx * ch + c] = clip8(acc);
            }
        }
    }
    return out;
}

// src resampled along y; weight ranges are relative to src row `row0`.
cv::Mat pass_vertical(const cv::Mat& src, int row0, int height, const Weights& wt) {
    const int n = src.cols * src.channels();
    cv::Mat out(height, src.cols, src.type());
    std::vector<int32_t> acc(n);  // integer sums are exact, so row order does not matter
    for (int yy = 0; yy < height; ++yy) {
        const int32_t* w = &wt.w[static_cast<size_t>(yy) * wt.ksize];
        std::fill(acc.begin(), acc.end(), kHalf);
        for (int y = 0; y < wt.count[yy]; ++y) {
            const uint8_t* in = src.ptr<uint8_t>(wt.first[yy] - row0 + y);
            for (int i = 0; i < n; ++i) acc[i] += in[i] * w[y];
        }
        uint8_t* o = out.ptr<uint8_t>(yy);
        for (int i = 0; i < n; ++i) o[i] = clip8(acc[i]);
    }
    return out;
}

}  // namespace

const char* resample_filter_name(int pil_value) {
    switch (pil_value) {
        case 1: return "lanczos";
        case 2: return "bilinear";
        case 3: return "bicubic";
        case 4: return "box";
        case 5: return "hamming";
        default: return nullptr;
    }
}

cv::Mat pil_resize(const cv::Mat& src, int width, int height, ResampleFilter filter) {
    if (src.empty() || src.depth() != CV_8U || src.channels() > 4)
        throw Error("resize", "expected a non-empty 8-bit image with 1 to 4 channels");
    if (width <= 0 || height <= 0)
        throw Error("resize", "target size " + std::to_string(width) + "x" + std::to_string(height) + " is not positive");
    const Kernel k = kernel(filter);
    cv::Mat img = src;
    // Like PIL: the horizontal pass first, over only the rows the vertical pass will read.
    const Weights wy = compute_weights(src.rows, height, k);
    int row0 = 0;
    if (width != src.cols) {
        row0 = height != src.rows ? wy.first.front() : 0;
        const int row_end = height != src.rows ? wy.first.back() + wy.count.back() : src.rows;
        img = pass_horizontal(src, row0, row_end - row0, width, compute_weights(src.cols, width, k));
    }
    if (height != src.rows) img = pass_vertical(img, row0, height, wy);
    return img.data == src.data ? src.clone() : img;
}

}  // namespace ps
