#include "core/eval/eval_result.h"

#include <cstdio>

#include "core/error.h"

namespace ps {

double EvalResult::metric(const std::string& name) const {
    for (const auto& [k, v] : metrics)
        if (k == name) return v;
    throw Error(task, "no metric " + name);
}

void EvalResult::set_per_class(const at::Tensor& labels, const std::vector<std::string>& classes,
                               const std::vector<std::pair<std::string, at::Tensor>>& per_item) {
    columns.clear();
    per_class.clear();
    for (const auto& [name, v] : per_item) columns.push_back(name);
    for (size_t c = 0; c < classes.size(); ++c) {
        const at::Tensor in_class = labels == static_cast<int64_t>(c);
        Row row{classes[c], in_class.sum().item<int64_t>(), {}};
        for (const auto& [name, v] : per_item)
            row.values.push_back(row.count ? v.to(at::kDouble).masked_select(in_class).mean().item<double>() : 0.0);
        per_class.push_back(std::move(row));
    }
}

nlohmann::json EvalResult::to_json() const {
    nlohmann::json m = nlohmann::json::object(), rows = nlohmann::json::array();
    for (const auto& [k, v] : metrics) m[k] = v;
    for (const Row& r : per_class) {
        nlohmann::json row = {{"class", r.name}, {"count", r.count}};
        for (size_t c = 0; c < columns.size(); ++c) row[columns[c]] = r.values[c];
        rows.push_back(row);
    }
    return {{"task", task}, {"metrics", m}, {"per_class", rows}};
}

std::string EvalResult::to_text() const {
    std::string s = task + "\n";
    char buf[256];
    for (const auto& [k, v] : metrics) {
        std::snprintf(buf, sizeof buf, "  %-24s %10.4f\n", k.c_str(), v);
        s += buf;
    }
    if (per_class.empty()) return s;
    std::snprintf(buf, sizeof buf, "  %-16s %7s", "class", "count");
    s += buf;
    for (const auto& c : columns) {
        std::snprintf(buf, sizeof buf, " %20s", c.c_str());
        s += buf;
    }
    s += "\n";
    for (const Row& r : per_class) {
        std::snprintf(buf, sizeof buf, "  %-16s %7lld", r.name.c_str(), static_cast<long long>(r.count));
        s += buf;
        for (double v : r.values) {
            std::snprintf(buf, sizeof buf, " %20.4f", v);
            s += buf;
        }
        s += "\n";
    }
    return s;
}

}  // namespace ps
