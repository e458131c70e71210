#include "core/report/sweep_curves.h"

#include <algorithm>
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

cv::Mat render_token_curves(const SweepResult& sweep, TokenCost cost, const std::string& title) {
    const bool tokens = cost == TokenCost::ImageTokens;
    if (tokens && sweep.dense_image_tokens < 0) return {};
    std::map<std::string, std::vector<std::pair<double, double>>> curves;  // per token method (and weight pruning), by cost
    for (const SweepPoint& p : sweep.points) {
        if (p.token_method.empty()) continue;
        const std::string name = p.token_method + (p.sparsity > 0 ? " + " + p.method + " " + percent_label(p.sparsity) : "");
        auto& c = curves[name];
        if (c.empty()) c.push_back({tokens ? sweep.dense_image_tokens : sweep.dense_prefill_ms, sweep.dense_accuracy});
        c.push_back({tokens ? p.image_tokens : p.prefill_ms, p.accuracy});
    }
    if (curves.empty()) return {};
    std::vector<PlotSeries> series;
    for (auto& [name, c] : curves) {
        std::sort(c.begin(), c.end());
        PlotSeries line;
        line.name = name;
        for (const auto& [x, y] : c) {
            line.x.push_back(x);
            line.y.push_back(y);
        }
        series.push_back(std::move(line));
    }
    PlotOptions opt;
    opt.title = title;
    opt.x_label = tokens ? "image tokens the language model meets per prompt" : "prefill per prompt (ms)";
    score_axis(sweep, opt);
    return render_line_plot(series, opt);
}

}  // namespace ps
