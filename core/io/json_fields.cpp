#include "core/io/json_fields.h"

#include <regex>

#include "core/error.h"

namespace ps {

JsonFields::JsonFields(const nlohmann::json& j, std::string source, std::string path)
    : j_(j), source_(std::move(source)), path_(std::move(path)) {
    if (!j.is_object()) fail(path_.empty() ? "must be a JSON object" : "must be an object");
}

std::string JsonFields::where(const std::string& key) const {
    return path_.empty() ? key : key.empty() ? path_ : path_ + "." + key;
}

void JsonFields::fail(const std::string& what, const std::string& key) const {
    const std::string p = where(key);
    throw Error(source_, p.empty() ? what : p + ": " + what);
}

void JsonFields::only(const std::set<std::string>& keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
        if (!keys.count(it.key())) fail("unknown field", it.key());
}

const nlohmann::json* JsonFields::find(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
}

JsonFields JsonFields::sub(const std::string& key) const { return JsonFields(*find(key), source_, where(key)); }

std::string JsonFields::text(const std::string& key, const std::string& fallback, bool required) const {
    const auto* v = find(key);
    if (!v) {
        if (required) fail("missing", key);
        return fallback;
    }
    if (!v->is_string()) fail("must be a string", key);
    return v->get<std::string>();
}

double JsonFields::number(const std::string& key, double fallback) const {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) fail("must be a number", key);
    return v->get<double>();
}

int64_t JsonFields::integer(const std::string& key, int64_t fallback, int64_t min) const {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) fail("must be an integer", key);
    const int64_t x = v->get<int64_t>();
    if (x < min) fail(std::to_string(x) + " is below " + std::to_string(min), key);
    return x;
}

bool JsonFields::boolean(const std::string& key, bool fallback) const {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail("must be true or false", key);
    return v->get<bool>();
}

std::vector<std::string> JsonFields::regexes(const std::string& key, std::vector<std::string> fallback) const {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_array()) fail("must be a list of regular expressions", key);
    std::vector<std::string> out;
    for (const auto& e : *v) {
        if (!e.is_string()) fail("must be a list of regular expressions", key);
        try {
            std::regex re(e.get<std::string>());
        } catch (const std::regex_error&) {
            fail("\"" + e.get<std::string>() + "\" is not a valid regular expression", key);
        }
        out.push_back(e.get<std::string>());
    }
    return out;
}

void JsonFields::sparsity(const std::string& key, double s) const {
    if (!(s >= 0.0 && s < 1.0)) fail(std::to_string(s) + " is outside [0, 1)", key);
}

}  // namespace ps
