#include "core/token/token_options.h"

#include <regex>
#include <set>

#include "core/io/json_fields.h"
#include "core/token/token_method.h"

namespace ps {

namespace {
double keep_ratio(const JsonFields& where, const std::string& key, double x) {
    if (!(x > 0 && x <= 1)) where.fail(std::to_string(x) + " is outside (0, 1]", key);
    return x;
}
}  // namespace

TokenOptions TokenOptions::read(const JsonFields& t) {
    TokenOptions v;
    if (t.find("method")) {
        v.method = t.text("method", "");
        const TokenMethod* m = find_token_method(v.method);
        if (!m) t.fail("\"" + v.method + "\" is not a token method (" + token_method_names() + ")", "method");
        std::set<std::string> fields{"method", "keep"};
        fields.insert(m->options.begin(), m->options.end());
        t.only(fields);
        v.keep = keep_ratio(t, "keep", t.number("keep", v.keep));
        const auto count = [&](const std::string& key, int fallback, int64_t min) {  // a block, pivot or stage count
            const int64_t x = t.integer(key, fallback, min);
            if (x > 1000000) t.fail(std::to_string(x) + " is above 1000000", key);
            return static_cast<int>(x);
        };
        v.seed = static_cast<uint64_t>(t.integer("seed", 0, 0));
        v.layer = count("layer", v.layer, 0);
        v.pivots = count("pivots", v.pivots, 1);
        v.contextual = t.number("contextual", v.contextual);
        if (!(v.contextual >= 0 && v.contextual < 1)) t.fail(std::to_string(v.contextual) + " is outside [0, 1)", "contextual");
        v.stages = count("stages", v.stages, 2);
        return v;
    }
    t.only({"metric", "vision", "language_after", "language_keep"});
    v.metric = t.text("metric", v.metric);
    if (v.metric != "cls" && v.metric != "received" && v.metric != "text" && v.metric != "cim")
        t.fail("\"" + v.metric + "\" is not cls, received, text or cim", "metric");
    if (t.find("vision")) {
        const JsonFields vis = t.sub("vision");
        for (const auto& [block, r] : t.find("vision")->items()) {
            if (!std::regex_match(block, std::regex("[0-9]+"))) vis.fail("keys must be vision block numbers", block);
            if (!r.is_number()) vis.fail("must be a keep ratio", block);
            v.vision[std::stoi(block)] = keep_ratio(vis, block, r.get<double>());
        }
    }
    v.language_after = static_cast<int>(t.integer("language_after", v.language_after, -1));
    v.language_keep = keep_ratio(t, "language_keep", t.number("language_keep", v.language_keep));
    return v;
}

bool TokenOptions::empty() const {
    if (!method.empty()) return keep >= 1.0;
    for (const auto& [block, keep] : vision)
        if (keep < 1.0) return false;
    return language_after < 0 || language_keep >= 1.0;
}

nlohmann::json TokenOptions::to_json() const {
    if (!method.empty()) {
        nlohmann::json j = {{"method", method}, {"keep", keep}};
        for (const std::string& o : find_token_method(method)->options) {
            if (o == "seed") j[o] = seed;
            if (o == "layer" && layer >= 0) j[o] = layer;
            if (o == "pivots") j[o] = pivots;
            if (o == "contextual") j[o] = contextual;
            if (o == "stages") j[o] = stages;
        }
        return j;
    }
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [block, keep] : vision) v[std::to_string(block)] = keep;
    return {{"metric", metric}, {"vision", v}, {"language_after", language_after}, {"language_keep", language_keep}};
}

}  // namespace ps
