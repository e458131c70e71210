#include "core/model/config_reader.h"

#include "core/error.h"

namespace ps {

nlohmann::json& tower_config(nlohmann::json& config, const std::string& key, const std::string& config_path) {
    if (key.empty()) return config;
    nlohmann::json& sub = config[key];
    if (sub.is_null()) sub = nlohmann::json::object();
    if (!sub.is_object()) throw Error(config_path, key + " is not an object");
    return sub;
}

const nlohmann::json* ConfigReader::find(const std::string& key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
}

void ConfigReader::bad(const std::string& key, const char* expected) const {
    throw Error(path_, "\"" + prefix_ + key + "\" must be " + expected);
}

bool ConfigReader::has(const std::string& key) const { return find(key) != nullptr; }

int64_t ConfigReader::integer(const std::string& key, int64_t fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) bad(key, "an integer");
    return v->get<int64_t>();
}

double ConfigReader::number(const std::string& key, double fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) bad(key, "a number");
    return v->get<double>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) bad(key, "a string");
    return v->get<std::string>();
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) bad(key, "true or false");
    return v->get<bool>();
}

std::vector<int64_t> ConfigReader::integers(const std::string& key, const std::vector<int64_t>& fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    std::vector<int64_t> out;
    if (!v->is_array()) bad(key, "a list of integers");
    for (const auto& e : *v) {
        if (!e.is_number_integer()) bad(key, "a list of integers");
        out.push_back(e.get<int64_t>());
    }
    return out;
}

ConfigReader ConfigReader::sub(const std::string& key) const {
    if (key.empty()) return *this;
    static const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json* v = find(key);
    if (v && !v->is_object()) bad(key, "an object");
    return ConfigReader(v ? *v : empty, path_, prefix_ + key + ".");
}

}  // namespace ps
