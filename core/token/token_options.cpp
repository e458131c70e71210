#include "core/token/token_options.h"

#include <regex>

#include "core/io/json_fields.h"

namespace ps {

TokenOptions TokenOptions::read(const JsonFields& t) {
    t.only({"metric", "vision", "language_after", "language_keep"});
    TokenOptions v;
    v.metric = t.text("metric", v.metric);
    if (v.metric != "cls" && v.metric != "received" && v.metric != "text" && v.metric != "cim")
        t.fail("\"" + v.metric + "\" is not cls, received, text or cim", "metric");
    auto keep = [&](const JsonFields& where, const std::string& key, double x) {
        if (!(x > 0 && x <= 1)) where.fail(std::to_string(x) + " is outside (0, 1]", key);
        return x;
    };
    if (t.find("vision")) {
        const JsonFields vis = t.sub("vision");
        for (const auto& [block, r] : t.find("vision")->items()) {
            if (!std::regex_match(block, std::regex("[0-9]+"))) vis.fail("keys must be vision block numbers", block);
            if (!r.is_number()) vis.fail("must be a keep ratio", block);
            v.vision[std::stoi(block)] = keep(vis, block, r.get<double>());
        }
    }
    v.language_after = static_cast<int>(t.integer("language_after", v.language_after, -1));
    v.language_keep = keep(t, "language_keep", t.number("language_keep", v.language_keep));
    return v;
}

bool TokenOptions::empty() const {
    for (const auto& [block, keep] : vision)
        if (keep < 1.0) return false;
    return language_after < 0 || language_keep >= 1.0;
}

nlohmann::json TokenOptions::to_json() const {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [block, keep] : vision) v[std::to_string(block)] = keep;
    return {{"metric", metric}, {"vision", v}, {"language_after", language_after}, {"language_keep", language_keep}};
}

}  // namespace ps
