// What an evaluation task returns: its numbers (the first is the headline), and a per-class table.
// Accuracies and recalls are percentages; divergences are in nats.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace ps {

struct EvalResult {
    struct Row {
        std::string name;
        int64_t count = 0;  // items of this class
        std::vector<double> values;  // one per column
    };
    std::string task;
    std::vector<std::pair<std::string, double>> metrics;
    std::vector<std::string> columns;
    std::vector<Row> per_class;

    // Fills columns and per_class with the mean of each per-item value ([N] tensors) over the
    // items of every class (labels [N], -1 for none).
    void set_per_class(const at::Tensor& labels, const std::vector<std::string>& classes,
                       const std::vector<std::pair<std::string, at::Tensor>>& per_item);

    double value() const { return metrics.empty() ? 0.0 : metrics.front().second; }
    double metric(const std::string& name) const;  // throws ps::Error when absent
    nlohmann::json to_json() const;
    std::string to_text() const;
};

}  // namespace ps
