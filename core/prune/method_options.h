// What a pruning method declares about its options: name, type, default, range and one line of
// help. The registry validates a method's section of the Plan against the declarations and hands
// the method the whole section, defaults filled in; `prunestudio-cli methods` prints them. Plugins
// declare theirs the same way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct MethodOption {
    enum class Type { Number, Integer, Boolean, Text, TextList };
    std::string name;
    Type type = Type::Number;
    nlohmann::json value;               // the default
    std::optional<double> min, max;     // numbers: the range, each end closed unless *_open
    bool min_open = false, max_open = false;
    std::vector<std::string> choices;   // Text, TextList: the values allowed (empty: any)
    std::string help;                   // one line

    // Declarations, inline so that plugins (which do not link core) can use them.
    // A number in [min, max] (or with open ends: "(0, 1)"); an unset end is unbounded.
    static MethodOption number(std::string name, double value, std::optional<double> min, std::optional<double> max,
                               std::string help, bool min_open = false, bool max_open = false) {
        MethodOption o = make(std::move(name), Type::Number, value, std::move(help));
        o.min = min;
        o.max = max;
        o.min_open = min_open;
        o.max_open = max_open;
        return o;
    }
    static MethodOption integer(std::string name, int64_t value, int64_t min, std::string help) {
        MethodOption o = make(std::move(name), Type::Integer, value, std::move(help));
        o.min = static_cast<double>(min);
        return o;
    }
    static MethodOption boolean(std::string name, bool value, std::string help) {
        return make(std::move(name), Type::Boolean, value, std::move(help));
    }
    static MethodOption text(std::string name, std::string value, std::vector<std::string> choices, std::string help) {
        MethodOption o = make(std::move(name), Type::Text, std::move(value), std::move(help));
        o.choices = std::move(choices);
        return o;
    }
    // A non-empty list drawn from `choices`.
    static MethodOption text_list(std::string name, std::vector<std::string> value, std::vector<std::string> choices,
                                  std::string help) {
        MethodOption o = make(std::move(name), Type::TextList, std::move(value), std::move(help));
        o.choices = std::move(choices);
        return o;
    }

    // "number in (0, 1), default 0.01", for listings.
    std::string describe() const;

private:
    static MethodOption make(std::string name, Type type, nlohmann::json value, std::string help) {
        MethodOption o;
        o.name = std::move(name);
        o.type = type;
        o.value = std::move(value);
        o.help = std::move(help);
        return o;
    }
};

// The section `given` (a JSON object; nullptr: absent) checked against `options`, every option
// present: an unknown key, a wrong type or a value out of range throws ps::Error naming the field
// through `where` (e.g. "plan.json: sparsegpt.percdamp: must be in (0, 1)").
nlohmann::json read_method_section(const std::vector<MethodOption>& options, const JsonFields* given);
// The section of defaults alone.
nlohmann::json default_method_section(const std::vector<MethodOption>& options);

}  // namespace ps
