// Reads the fields of one JSON object of a user file (a Plan and its sections), naming
// "<source>: <path>.<key>" in every error, e.g. "plan.json: recovery.rank.vision: -1 is below 0".
// Each module reads its own section of the Plan with it.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields {
public:
    // Throws unless `j` is an object. `path` is where `j` sits in the file ("" at the top).
    JsonFields(const nlohmann::json& j, std::string source, std::string path);

    [[noreturn]] void fail(const std::string& what, const std::string& key = "") const;
    // Refuses any key outside `keys`.
    void only(const std::set<std::string>& keys) const;
    const nlohmann::json* find(const std::string& key) const;
    const std::string& source() const { return source_; }
    // The field's name in messages: "<path>.<key>".
    std::string where(const std::string& key) const;
    // The sub-object at `key` (which must be present).
    JsonFields sub(const std::string& key) const;

    // Each returns `fallback` when the key is absent and throws naming it when the value has the wrong type.
    std::string text(const std::string& key, const std::string& fallback, bool required = false) const;
    double number(const std::string& key, double fallback) const;
    int64_t integer(const std::string& key, int64_t fallback, int64_t min) const;
    bool boolean(const std::string& key, bool fallback) const;
    // A list of ECMAScript regular expressions, each checked to compile.
    std::vector<std::string> regexes(const std::string& key, std::vector<std::string> fallback) const;
    // Throws unless 0 <= s < 1.
    void sparsity(const std::string& key, double s) const;

private:
    const nlohmann::json& j_;
    std::string source_, path_;
};

}  // namespace ps
