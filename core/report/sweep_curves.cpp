#include "core/report/sweep_curves.h"

#include <map>

#include "core/report/line_plot.h"

namespace ps {

cv::Mat render_sweep_curves(const std::vector<SweepPoint>& points, double dense_accuracy, const std::string& title) {
    std::map<std::string, PlotSeries> curves;  // per method and pattern, over the swept sparsities
    for (const SweepPoint& p : points) {
        if (p.vision >= 0 || !p.block.empty()) continue;
        PlotSeries& c = curves[p.method + " " + p.pattern];
        c.name = p.method + " " + p.pattern;
        c.x.push_back(100 * p.sparsity);
        c.y.push_back(p.accuracy);
    }
    if (curves.empty()) return {};
    std::vector<PlotSeries> series;
    for (auto& [name, c] : curves) series.push_back(std::move(c));
    PlotOptions opt;
    opt.title = title;
    opt.x_label = "target sparsity (%)";
    opt.y_label = "zero-shot top-1 (%)";
    opt.y_min = 0;
    opt.y_max = 100;
    opt.reference = dense_accuracy;
    opt.reference_label = "dense";
    return render_line_plot(series, opt);
}

}  // namespace ps
