#include "core/report/token_heatmap.h"

#include <algorithm>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"

namespace ps {
namespace {

int colormap_id(const std::string& name) {
    if (name == "inferno") return cv::COLORMAP_INFERNO;
    if (name == "jet") return cv::COLORMAP_JET;
    if (name == "viridis") return cv::COLORMAP_VIRIDIS;
    if (name == "turbo") return cv::COLORMAP_TURBO;
    if (name == "magma") return cv::COLORMAP_MAGMA;
    throw Error("colormap", "\"" + name + "\" is not inferno, jet, viridis, turbo or magma");
}

}  // namespace

cv::Mat render_token_heatmap(const cv::Mat& rgb, const TokenGrid& grid, const HeatmapOptions& opt) {
    const size_t cells = static_cast<size_t>(grid.rows) * static_cast<size_t>(grid.cols);
    if (grid.rows <= 0 || grid.cols <= 0 || grid.scores.size() != cells)
        throw Error("heatmap", "the token grid is empty or its scores do not fill it");
    if (!grid.dropped.empty() && grid.dropped.size() != cells) throw Error("heatmap", "dropped marks do not fill the grid");
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("heatmap", "needs an 8-bit RGB image");
    const int cmap = colormap_id(opt.colormap);

    cv::Mat image = rgb;
    const int side = std::min(rgb.rows, rgb.cols);
    if (side < opt.min_side) {
        const double f = static_cast<double>(opt.min_side) / side;
        cv::resize(rgb, image, cv::Size(), f, f, cv::INTER_NEAREST);
    }
    const float lo = *std::min_element(grid.scores.begin(), grid.scores.end());
    const float hi = *std::max_element(grid.scores.begin(), grid.scores.end());
    cv::Mat scores(grid.rows, grid.cols, CV_32F, const_cast<float*>(grid.scores.data()));
    cv::Mat norm8;
    scores.convertTo(norm8, CV_8U, hi > lo ? 255.0 / (hi - lo) : 0.0, hi > lo ? -255.0 * lo / (hi - lo) : 0.0);
    cv::Mat up, colour;
    cv::resize(norm8, up, image.size(), 0, 0, cv::INTER_LINEAR);
    cv::applyColorMap(up, colour, cmap);  // BGR
    cv::cvtColor(colour, colour, cv::COLOR_BGR2RGB);
    cv::Mat out;
    cv::addWeighted(image, 1.0 - opt.alpha, colour, opt.alpha, 0.0, out);

    const double ch = static_cast<double>(out.rows) / grid.rows, cw = static_cast<double>(out.cols) / grid.cols;
    for (int r = 0; r < grid.rows; ++r)
        for (int c = 0; c < grid.cols; ++c) {
            if (grid.dropped.empty() || !grid.dropped[static_cast<size_t>(r) * grid.cols + c]) continue;
            const cv::Rect cell(static_cast<int>(c * cw), static_cast<int>(r * ch),
                                static_cast<int>((c + 1) * cw) - static_cast<int>(c * cw),
                                static_cast<int>((r + 1) * ch) - static_cast<int>(r * ch));
            cv::Mat roi = out(cell);
            roi.convertTo(roi, -1, 0.3, 20);  // dimmed
            const int step = std::max(4, cell.width / 4);
            for (int d = -cell.height; d < cell.width; d += step)  // hatched with diagonal lines
                cv::line(roi, cv::Point(d, cell.height), cv::Point(d + cell.height, 0), cv::Scalar(200, 200, 200), 1,
                         cv::LINE_AA);
        }
    for (int r = 1; r < grid.rows; ++r)
        cv::line(out, cv::Point(0, static_cast<int>(r * ch)), cv::Point(out.cols, static_cast<int>(r * ch)),
                 cv::Scalar(255, 255, 255) * 0.35, 1);
    for (int c = 1; c < grid.cols; ++c)
        cv::line(out, cv::Point(static_cast<int>(c * cw), 0), cv::Point(static_cast<int>(c * cw), out.rows),
                 cv::Scalar(255, 255, 255) * 0.35, 1);
    return out;
}

void write_png(const std::string& path, const cv::Mat& rgb) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uint8_t> bytes;
    if (!cv::imencode(".png", bgr, bytes)) throw Error(path, "cannot encode PNG");
    write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace ps
