#include "core/report/line_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace ps {
namespace {

const cv::Scalar kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                               {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                               {188, 189, 34},  {23, 190, 207}};  // RGB, matplotlib's tab10

std::string tick_label(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
    return b;
}

// A step of 1, 2 or 5 times a power of ten giving about `n` intervals over `span`.
double nice_step(double span, int n) {
    const double raw = span / n, p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= raw) return m * p;
    return 10 * p;
}

}  // namespace

cv::Mat render_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& opt) {
    if (series.empty()) throw Error("plot", "no series to draw");
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (const PlotSeries& s : series) {
        if (s.x.size() != s.y.size() || s.x.empty())
            throw Error("plot", "series \"" + s.name + "\" has " + std::to_string(s.x.size()) + " x and " +
                                    std::to_string(s.y.size()) + " y values");
        for (size_t i = 0; i < s.x.size(); ++i) {
            x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
        }
    }
    if (opt.reference >= 0) y0 = std::min(y0, opt.reference), y1 = std::max(y1, opt.reference);
    if (opt.y_min != 0 || opt.y_max != 0) y0 = opt.y_min, y1 = opt.y_max;
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    const double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 6);
    x0 = std::floor(x0 / xs) * xs, x1 = std::ceil(x1 / xs) * xs;
    y0 = std::floor(y0 / ys) * ys, y1 = std::ceil(y1 / ys) * ys;

    const int font = cv::FONT_HERSHEY_SIMPLEX;
    int legend = 0, base = 0;  // the widest legend entry sets the right margin
    for (const PlotSeries& s : series) legend = std::max(legend, cv::getTextSize(s.name, font, 0.5, 1, &base).width);
    cv::Mat img(opt.height, opt.width, CV_8UC3, cv::Scalar(255, 255, 255));
    const int left = 80, right = legend + 70, top = 50, bottom = 70;
    if (opt.width - left - right < 100) throw Error("plot", "too narrow for its legend");
    const cv::Rect area(left, top, opt.width - left - right, opt.height - top - bottom);
    auto px = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
    auto py = [&](double y) { return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height)); };
    const cv::Scalar ink(40, 40, 40), grid(225, 225, 225);

    for (double x = x0; x <= x1 + xs / 2; x += xs) {
        cv::line(img, {px(x), area.y}, {px(x), area.y + area.height}, grid, 1);
        const std::string t = tick_label(x);
        const cv::Size sz = cv::getTextSize(t, font, 0.45, 1, &base);
        cv::putText(img, t, {px(x) - sz.width / 2, area.y + area.height + 20}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    for (double y = y0; y <= y1 + ys / 2; y += ys) {
        cv::line(img, {area.x, py(y)}, {area.x + area.width, py(y)}, grid, 1);
        const std::string t = tick_label(y);
        const cv::Size sz = cv::getTextSize(t, font, 0.45, 1, &base);
        cv::putText(img, t, {area.x - sz.width - 8, py(y) + sz.height / 2}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    cv::rectangle(img, area, ink, 1);
    if (opt.reference >= 0) {
        for (int x = area.x; x < area.x + area.width; x += 12)
            cv::line(img, {x, py(opt.reference)}, {std::min(x + 6, area.x + area.width), py(opt.reference)}, ink, 1, cv::LINE_AA);
        cv::putText(img, opt.reference_label, {area.x + 6, py(opt.reference) - 6}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    for (size_t k = 0; k < series.size(); ++k) {
        const cv::Scalar c = kPalette[k % (sizeof kPalette / sizeof kPalette[0])];
        const PlotSeries& s = series[k];
        for (size_t i = 0; s.joined && i + 1 < s.x.size(); ++i)
            cv::line(img, {px(s.x[i]), py(s.y[i])}, {px(s.x[i + 1]), py(s.y[i + 1])}, c, 2, cv::LINE_AA);
        for (size_t i = 0; i < s.x.size(); ++i) cv::circle(img, {px(s.x[i]), py(s.y[i])}, 4, c, cv::FILLED, cv::LINE_AA);
        const int ly = area.y + 10 + static_cast<int>(k) * 24;
        if (s.joined) cv::line(img, {area.x + area.width + 16, ly}, {area.x + area.width + 40, ly}, c, 2, cv::LINE_AA);
        cv::circle(img, {area.x + area.width + 28, ly}, 4, c, cv::FILLED, cv::LINE_AA);
        cv::putText(img, s.name, {area.x + area.width + 48, ly + 5}, font, 0.5, ink, 1, cv::LINE_AA);
    }
    const cv::Size tsz = cv::getTextSize(opt.title, font, 0.65, 1, &base);
    cv::putText(img, opt.title, {(opt.width - tsz.width) / 2, 30}, font, 0.65, ink, 1, cv::LINE_AA);
    const cv::Size xsz = cv::getTextSize(opt.x_label, font, 0.5, 1, &base);
    cv::putText(img, opt.x_label, {area.x + (area.width - xsz.width) / 2, opt.height - 20}, font, 0.5, ink, 1, cv::LINE_AA);
    cv::Mat label(30, area.height, CV_8UC3, cv::Scalar(255, 255, 255));
    const cv::Size ysz = cv::getTextSize(opt.y_label, font, 0.5, 1, &base);
    cv::putText(label, opt.y_label, {(area.height - ysz.width) / 2, 20}, font, 0.5, ink, 1, cv::LINE_AA);
    cv::rotate(label, label, cv::ROTATE_90_COUNTERCLOCKWISE);
    label.copyTo(img(cv::Rect(8, area.y, 30, area.height)));
    return img;
}

}  // namespace ps
