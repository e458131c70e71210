#include "core/eval/sweep_result.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/eval/evaluation_options.h"

namespace ps {
std::string percent_label(double fraction) {
    char b[32];
    std::snprintf(b, sizeof b, "%g%%", 100 * fraction);
    return b;
}

nlohmann::json SweepPoint::to_json() const {
    return {{"key", key},           {"name", name},         {"method", method},     {"pattern", pattern},
            {"sparsity", sparsity}, {"vision", vision},     {"language", language}, {"achieved", achieved},
            {"accuracy", accuracy}, {"params", params},     {"params_nonzero", params_nonzero}, {"seconds", seconds},
            {"block", block},       {"keep", keep},         {"tokens", tokens},     {"flops", flops},
            {"task", task},         {"metrics", metrics},   {"token_method", token_method}, {"image_tokens", image_tokens},
            {"prefill_ms", prefill_ms}};
}

SweepPoint SweepPoint::from_json(const nlohmann::json& j, const std::string& source) {
    try {
        SweepPoint p;
        p.key = j.at("key").get<std::string>();
        p.name = j.at("name").get<std::string>();
        p.method = j.at("method").get<std::string>();
        p.pattern = j.at("pattern").get<std::string>();
        p.sparsity = j.at("sparsity").get<double>();
        p.vision = j.at("vision").get<double>();
        p.language = j.at("language").get<double>();
        p.achieved = j.at("achieved").get<double>();
        p.accuracy = j.at("accuracy").get<double>();
        p.params = j.at("params").get<int64_t>();
        p.params_nonzero = j.at("params_nonzero").get<int64_t>();
        p.seconds = j.at("seconds").get<double>();
        p.block = j.at("block").get<std::string>();
        p.keep = j.at("keep").get<double>();
        p.tokens = j.at("tokens").get<bool>();
        p.flops = j.at("flops").get<double>();
        p.task = j.value("task", std::string());
        p.token_method = j.value("token_method", std::string());
        p.image_tokens = j.value("image_tokens", -1.0);
        p.prefill_ms = j.value("prefill_ms", 0.0);
        if (j.contains("metrics")) p.metrics = j.at("metrics").get<std::vector<std::pair<std::string, double>>>();
        return p;
    } catch (const nlohmann::json::exception& e) {
        throw Error(source, std::string("not a sweep point: ") + e.what());
    }
}

bool SweepResult::tokens_pruned() const {
    return std::any_of(points.begin(), points.end(), [](const SweepPoint& p) { return p.tokens; });
}

bool SweepResult::has_grid() const {
    return std::any_of(points.begin(), points.end(), [](const SweepPoint& p) { return p.vision >= 0; });
}

double cost_percent(const SweepResult& sweep, const SweepPoint& p, ParetoCost cost) {
    if (cost == ParetoCost::Flops) return sweep.dense_flops > 0 ? 100 * p.flops / sweep.dense_flops : 0.0;
    return p.params > 0 ? 100.0 * static_cast<double>(p.params_nonzero) / static_cast<double>(p.params) : 0.0;
}

std::string SweepResult::metric_unit() const {
    const std::string last = metric.substr(metric.find_last_of('/') + 1);  // "random/f1" is in %
    if (metric_lower_is_better(last)) return "nats";
    if (last == "yes_ratio" || last == "questions" || last == "images" || last == "mme_score") return "";
    return "%";
}

std::string SweepResult::metric_label() const {
    const std::string unit = metric_unit();
    return task + " " + metric + (unit.empty() ? "" : " (" + unit + ")");
}

std::string curve_name(const SweepPoint& p) {
    if (p.vision >= 0 || !p.block.empty()) return {};
    std::string name = p.method + " " + p.pattern;
    if (!p.token_method.empty()) name += " tokens " + p.token_method;
    if (p.keep >= 0) name += " keep " + percent_label(p.keep);
    return name;
}

nlohmann::json SweepResult::to_json() const {
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& p : points) pts.push_back(p.to_json());
    auto front = [&](ParetoCost cost) {
        nlohmann::json keys = nlohmann::json::array();
        for (size_t i : pareto_front(points, cost, lower_is_better)) keys.push_back(points[i].key);
        return keys;
    };
    nlohmann::json j = {{"model", model}, {"task", task}, {"metric", metric}, {"lower_is_better", lower_is_better},
                        {"dense_accuracy", dense_accuracy}, {"dense_flops", dense_flops}, {"dense_image_tokens", dense_image_tokens},
                        {"dense_prefill_ms", dense_prefill_ms}, {"points", pts},
                        {"pareto_front", front(ParetoCost::Params)}, {"ran", ran}, {"cached", cached}, {"seconds", seconds}};
    if (tokens_pruned()) j["pareto_front_flops"] = front(ParetoCost::Flops);
    return j;
}

SweepResult SweepResult::from_json(const nlohmann::json& j, const std::string& source) {
    SweepResult r;
    try {
        r.model = j.value("model", std::string());
        r.task = j.value("task", r.task);  // sweeps written before the task was chosen scored zero-shot top-1
        r.metric = j.value("metric", r.metric);
        r.lower_is_better = j.value("lower_is_better", false);
        r.dense_accuracy = j.at("dense_accuracy").get<double>();
        r.dense_flops = j.value("dense_flops", 0.0);
        r.dense_image_tokens = j.value("dense_image_tokens", -1.0);
        r.dense_prefill_ms = j.value("dense_prefill_ms", 0.0);
        r.ran = j.value("ran", 0);
        r.cached = j.value("cached", 0);
        r.seconds = j.value("seconds", 0.0);
        for (const auto& p : j.at("points")) r.points.push_back(SweepPoint::from_json(p, source));
    } catch (const nlohmann::json::exception& e) {
        throw Error(source, std::string("not a sweep: ") + e.what());
    }
    return r;
}

std::string SweepResult::to_text() const {
    std::ostringstream o;
    char line[256];
    std::snprintf(line, sizeof line, "sweep: %zu points (%d run, %d from the cache) in %.1f s; score: %s, dense %.4f\n",
                  points.size(), ran, cached, seconds, metric_label().c_str(), dense_accuracy);
    o << line;
    o << "  method       pattern        target   vision  language  tokens            achieved      score  nonzero params  "
         "MFLOPs/sample  image tokens  prefill ms\n";
    for (const auto& p : points) {
        const std::string keep = p.keep >= 0 ? percent_label(p.keep) : p.tokens ? "plan" : "all";
        std::snprintf(line, sizeof line, "  %-12s %-12s %8.3f %8s %9s %-17s %8.4f %10.4f %15lld %14.1f %13s %11.1f%s\n",
                      p.method.c_str(), p.pattern.c_str(), p.sparsity, p.vision < 0 ? "-" : percent_label(p.vision).c_str(),
                      p.language < 0 ? "-" : percent_label(p.language).c_str(),
                      (p.token_method.empty() ? keep : p.token_method + " " + keep).c_str(), p.achieved, p.accuracy,
                      static_cast<long long>(p.params_nonzero), p.flops / 1e6,
                      p.image_tokens < 0 ? "-" : std::to_string(static_cast<int64_t>(std::llround(p.image_tokens))).c_str(), p.prefill_ms,
                      p.cached ? "  (cached)" : "");
        o << line;
    }
    for (const auto& p : points)
        if (!p.block.empty()) {
            std::snprintf(line, sizeof line, "  sensitivity  %-44s drop %8.4f\n", p.block.c_str(), drop(p.accuracy));
            o << line;
        }
    o << "  Pareto front (score vs nonzero parameters):";
    for (size_t i : pareto_front(points, ParetoCost::Params, lower_is_better)) o << " [" << points[i].name << "]";
    o << "\n";
    if (tokens_pruned()) {
        o << "  Pareto front (score vs FLOPs per sample):";
        for (size_t i : pareto_front(points, ParetoCost::Flops, lower_is_better)) o << " [" << points[i].name << "]";
        o << "\n";
    }
    return o.str();
}

std::vector<size_t> pareto_front(const std::vector<SweepPoint>& points, ParetoCost cost, bool lower_is_better) {
    const auto cost_of = [&](size_t i) {
        return cost == ParetoCost::Flops ? points[i].flops : static_cast<double>(points[i].params_nonzero);
    };
    const auto score = [&](size_t i) { return lower_is_better ? -points[i].accuracy : points[i].accuracy; };
    std::vector<size_t> order(points.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (cost_of(a) != cost_of(b)) return cost_of(a) < cost_of(b);
        return score(a) > score(b);
    });
    std::vector<size_t> front;
    double best = -1e300;
    for (size_t i : order)
        if (score(i) > best) {
            front.push_back(i);
            best = score(i);
        }
    return front;
}

}  // namespace ps
