#include "core/job/run_score.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace ps {

std::string RunScore::to_text() const {
    if (!unavailable.empty()) return "not scored: " + unavailable;
    char b[256];
    if (metric == kZeroShotTop1) {
        std::snprintf(b, sizeof b, "zero-shot top-1 on %lld test images: %.2f %%", static_cast<long long>(samples), run);
        std::string s = b;
        if (dense) {
            std::snprintf(b, sizeof b, " (dense %.2f %%)", *dense);
            s += b;
        }
        return s;
    }
    std::snprintf(b, sizeof b, "next-token KL to the dense model on %lld calibration samples: %.4f nats",
                  static_cast<long long>(samples), run);
    return b;
}

nlohmann::json RunScore::to_json() const {
    nlohmann::json j = {{"metric", metric}, {"run", run}, {"samples", samples}, {"seconds", seconds}};
    if (dense) j["dense"] = *dense;
    return j;
}

RunScore RunScore::from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source, "not a run score (expected a JSON object, got " + std::string(j.type_name()) + ")");
    const auto field = [&](const char* key) -> const nlohmann::json& {
        const auto it = j.find(key);
        if (it == j.end()) throw Error(source, std::string("not a run score: no \"") + key + "\"");
        return *it;
    };
    const auto number = [&](const char* key, const nlohmann::json& v) {
        if (!v.is_number() || !std::isfinite(v.get<double>()))
            throw Error(source, std::string(key) + ": expected a finite number, got " + v.dump());
        return v.get<double>();
    };
    RunScore s;
    const nlohmann::json& metric = field("metric");
    if (!metric.is_string() || (metric != kZeroShotTop1 && metric != kNextTokenKl))
        throw Error(source, "metric " + metric.dump() + " is not one this version writes");
    s.metric = metric.get<std::string>();
    s.run = number("run", field("run"));
    const nlohmann::json& samples = field("samples");
    if (!samples.is_number_integer() || samples.get<int64_t>() < 0)  // a float is refused before it is cast
        throw Error(source, "samples: expected a whole number, got " + samples.dump());
    s.samples = samples.get<int64_t>();
    if (j.contains("seconds")) s.seconds = number("seconds", j["seconds"]);
    if (j.contains("dense")) s.dense = number("dense", j["dense"]);
    return s;
}

}  // namespace ps
