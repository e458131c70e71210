#include "core/report/sweep_curves.h"

#include <map>

#include "core/report/line_plot.h"

namespace ps {

namespace {

// The y axis: the sweep's metric, 0-100 for a percentage, else the data's range.
void score_axis(const SweepResult& sweep, PlotOptions& opt) {
    opt.y_label = sweep.metric_label();
    opt.y_min = 0;
    opt.y_max = sweep.metric_unit() == "%" ? 100 : 0;
    opt.reference = sweep.dense_accuracy;
    opt.reference_label = "dense";
}

}  // namespace

cv::Mat render_sweep_curves(const SweepResult& sweep, const std::string& title) {
    std::map<std::string, PlotSeries> curves;  // per method, pattern (and keep ratio), over the swept sparsities
    for (const SweepPoint& p : sweep.points) {
        const std::string name = curve_name(p);
        if (name.empty()) continue;
        PlotSeries& c = curves[name];
        c.name = name;
        c.x.push_back(100 * p.sparsity);
        c.y.push_back(p.accuracy);
    }
    if (curves.empty()) return {};
    std::vector<PlotSeries> series;
    for (auto& [name, c] : curves) series.push_back(std::move(c));
    PlotOptions opt;
    opt.title = title;
    opt.x_label = "target sparsity (%)";
    score_axis(sweep, opt);
    return render_line_plot(series, opt);
}

cv::Mat render_pareto(const SweepResult& sweep, ParetoCost cost, const std::string& title) {
    const auto& points = sweep.points;
    if (points.empty()) return {};
    const auto x_of = [&](const SweepPoint& p) { return cost_percent(sweep, p, cost); };
    PlotSeries all{"sweep points", {}, {}, false}, front{"Pareto front", {}, {}, true};
    for (const SweepPoint& p : points) {
        all.x.push_back(x_of(p));
        all.y.push_back(p.accuracy);
    }
    for (size_t i : pareto_front(points, cost, sweep.lower_is_better)) {
        front.x.push_back(x_of(points[i]));
        front.y.push_back(points[i].accuracy);
    }
    PlotOptions opt;
    opt.title = title;
    opt.x_label = cost == ParetoCost::Flops ? "block FLOPs per sample (% of dense)" : "nonzero parameters (% of dense)";
    score_axis(sweep, opt);
    return render_line_plot({all, front}, opt);
}

}  // namespace ps
