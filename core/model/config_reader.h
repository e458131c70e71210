// Typed reads from a Hugging Face config.json with the defaults transformers uses, and one-line
// errors naming config.json and the field when a value has the wrong type.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

// The object `key` (a tower's TowerCapabilities::config_key) of a config.json being rewritten (structured pruning),
// created empty where the config leaves the tower to its defaults (LLaVA may omit text_config);
// "" is the config itself (a language model alone).
// Throws ps::Error naming `config_path` when it is not an object.
nlohmann::json& tower_config(nlohmann::json& config, const std::string& key, const std::string& config_path);

class ConfigReader {
public:
    ConfigReader(const nlohmann::json& j, std::string path, std::string prefix = "")
        : j_(j), path_(std::move(path)), prefix_(std::move(prefix)) {}

    int64_t integer(const std::string& key, int64_t fallback) const;
    double number(const std::string& key, double fallback) const;
    std::string string(const std::string& key, const std::string& fallback) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback) const;  // a list of integers
    bool has(const std::string& key) const;
    const std::string& path() const { return path_; }
    // A nested object such as "vision_config"; an absent one reads as empty (all defaults); "" is
    // this object.
    ConfigReader sub(const std::string& key) const;

private:
    const nlohmann::json* find(const std::string& key) const;
    [[noreturn]] void bad(const std::string& key, const char* expected) const;

    const nlohmann::json& j_;
    std::string path_;
    std::string prefix_;
};

}  // namespace ps
