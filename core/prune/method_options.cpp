#include "core/prune/method_options.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>

#include "core/io/json_fields.h"

namespace ps {
namespace {

std::string format(double x) {
    std::ostringstream o;
    o << x;
    return o.str();
}

std::string range_text(const MethodOption& o) {
    if (!o.min && !o.max) return "";
    if (o.min && !o.max) return std::string(o.min_open ? "> " : ">= ") + format(*o.min);
    if (!o.min && o.max) return std::string(o.max_open ? "< " : "<= ") + format(*o.max);
    return std::string(o.min_open ? "(" : "[") + format(*o.min) + ", " + format(*o.max) + (o.max_open ? ")" : "]");
}

std::string must_be(const MethodOption& o) {
    const std::string range = range_text(o);
    return range[0] == '[' || range[0] == '(' ? "must be in " + range : "must be " + range;
}

bool in_range(const MethodOption& o, double x) {
    if (!std::isfinite(x)) return false;
    if (o.min && (o.min_open ? x <= *o.min : x < *o.min)) return false;
    if (o.max && (o.max_open ? x >= *o.max : x > *o.max)) return false;
    return true;
}

std::string choices_text(const std::vector<std::string>& choices) {
    std::string s;
    for (size_t i = 0; i < choices.size(); ++i) s += (i ? (i + 1 == choices.size() ? " or " : ", ") : "") + choices[i];
    return s;
}

bool allowed(const MethodOption& o, const std::string& v) {
    return o.choices.empty() || std::find(o.choices.begin(), o.choices.end(), v) != o.choices.end();
}

nlohmann::json read_one(const MethodOption& o, const JsonFields& f) {
    const nlohmann::json& v = *f.find(o.name);
    switch (o.type) {
        case MethodOption::Type::Number: {
            const double x = f.number(o.name, 0);
            if (!in_range(o, x)) f.fail(must_be(o), o.name);
            return x;
        }
        case MethodOption::Type::Integer: {
            const int64_t x = f.integer(o.name, 0, static_cast<int64_t>(o.min.value_or(static_cast<double>(INT64_MIN))));
            if (!in_range(o, static_cast<double>(x))) f.fail(must_be(o), o.name);
            return x;
        }
        case MethodOption::Type::Boolean: return f.boolean(o.name, false);
        case MethodOption::Type::Text: {
            const std::string x = f.text(o.name, "");
            if (!allowed(o, x)) f.fail("\"" + x + "\" is not " + choices_text(o.choices), o.name);
            return x;
        }
        case MethodOption::Type::TextList: {
            if (!v.is_array() || v.empty()) f.fail("must be a non-empty list of " + choices_text(o.choices), o.name);
            for (const auto& e : v)
                if (!e.is_string() || !allowed(o, e.get<std::string>()))
                    f.fail("must name " + choices_text(o.choices), o.name);
            return v;
        }
    }
    return v;
}

}  // namespace

std::string MethodOption::describe() const {
    std::string kind;
    switch (type) {
        case Type::Number: kind = "number"; break;
        case Type::Integer: kind = "integer"; break;
        case Type::Boolean: kind = "true or false"; break;
        case Type::Text: kind = choices.empty() ? "text" : choices_text(choices); break;
        case Type::TextList: kind = "list of " + choices_text(choices); break;
    }
    const std::string range = range_text(*this);
    const bool interval = !range.empty() && (range[0] == '[' || range[0] == '(');
    return kind + (range.empty() ? "" : interval ? " in " + range : " " + range) + ", default " + value.dump();
}

nlohmann::json read_method_section(const std::vector<MethodOption>& options, const JsonFields* given) {
    nlohmann::json out = default_method_section(options);
    if (!given) return out;
    std::set<std::string> names;
    for (const MethodOption& o : options) names.insert(o.name);
    given->only(names);
    for (const MethodOption& o : options)
        if (given->find(o.name)) out[o.name] = read_one(o, *given);
    return out;
}

nlohmann::json default_method_section(const std::vector<MethodOption>& options) {
    nlohmann::json out = nlohmann::json::object();
    for (const MethodOption& o : options) out[o.name] = o.value;
    return out;
}

}  // namespace ps
