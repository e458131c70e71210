#include "core/report/model_summary.h"

#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ps {

std::string format_count(uint64_t n) {
    char buf[32];
    if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
    else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
    else if (n >= 1000ull) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
    else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

nlohmann::json model_map_json(const ModelMap& map) {
    nlohmann::json j;
    j["dir"] = map.dir;
    j["model_type"] = map.model_type;
    j["family"] = map.family;
    j["family_display"] = map.family_display;
    j["shards"] = map.num_shards;
    j["tensors"] = map.num_tensors;
    j["file_bytes"] = map.file_bytes;
    j["total_params"] = map.total_params;
    j["dtypes"] = map.dtypes;
    nlohmann::json mods = nlohmann::json::object();
    for (int m = 0; m < kNumModalities; ++m) {
        const ModalityTotals& t = map.totals[m];
        mods[modality_name(static_cast<Modality>(m))] = {{"params", t.params},
                                                         {"linear_params", t.linear_params},
                                                         {"prunable_params", t.prunable_params},
                                                         {"tensors", t.tensors},
                                                         {"linears", t.linears}};
    }
    j["modalities"] = mods;
    nlohmann::json lin = nlohmann::json::array();
    for (const LinearLayer& l : map.linears)
        lin.push_back({{"name", l.name},
                       {"modality", modality_name(l.modality)},
                       {"block", l.block},
                       {"group", l.group},
                       {"role", l.role},
                       {"shape", {l.out_features, l.in_features}},
                       {"dtype", dtype_name(l.dtype)},
                       {"bias", l.has_bias},
                       {"prunable", l.prunable}});
    j["linears"] = lin;
    return j;
}

std::string model_map_text(const ModelMap& map) {
    std::ostringstream o;
    char line[512];
    std::string dtypes;
    for (const auto& d : map.dtypes) dtypes += (dtypes.empty() ? "" : ",") + d;
    o << "checkpoint  " << map.dir << "\n";
    o << "family      " << map.family_display << " (model_type " << map.model_type << ")\n";
    o << "weights     " << map.num_tensors << " tensors in " << map.num_shards << " shard(s), "
      << format_count(map.file_bytes) << "B, " << dtypes << "\n";
    o << "parameters  " << format_count(map.total_params) << "\n\n";
    std::snprintf(line, sizeof line, "%-10s %10s %10s %10s %8s\n", "modality", "params", "linear", "prunable", "linears");
    o << line;
    for (int m = 0; m < kNumModalities; ++m) {
        const ModalityTotals& t = map.totals[m];
        std::snprintf(line, sizeof line, "%-10s %10s %10s %10s %8d\n", modality_name(static_cast<Modality>(m)),
                      format_count(t.params).c_str(), format_count(t.linear_params).c_str(),
                      format_count(t.prunable_params).c_str(), t.linears);
        o << line;
    }
    o << "\nlinears (" << map.linears.size() << ")\n";
    std::snprintf(line, sizeof line, "%-64s %-13s %-5s %-9s %5s %-8s %s\n", "name", "shape", "dtype", "modality",
                  "block", "role", "prunable");
    o << line;
    for (const LinearLayer& l : map.linears) {
        std::string shape = std::to_string(l.out_features) + "x" + std::to_string(l.in_features);
        std::snprintf(line, sizeof line, "%-64s %-13s %-5s %-9s %5d %-8s %s\n", l.name.c_str(), shape.c_str(),
                      dtype_name(l.dtype), modality_name(l.modality), l.block, l.role.c_str(),
                      l.prunable ? "yes" : "no");
        o << line;
    }
    return o.str();
}

}  // namespace ps
