// JSON Lines as users write them (captions.jsonl, LLaVA's question and answer files): one JSON
// object per line, blank lines skipped, a UTF-8 byte-order mark allowed; every error names the file
// and the line.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

// Calls `row(object, where)` for each object of `file`, where is "<file>:<line>". Throws ps::Error
// naming the file for one that cannot be read, and naming the line for one that is not valid JSON
// or not an object.
void for_each_jsonl_object(const std::string& file,
                           const std::function<void(const nlohmann::json& row, const std::string& where)>& row);

// The string value of `key`, or ps::Error naming `where` when it is absent or not a string.
std::string jsonl_string(const nlohmann::json& row, const char* key, const std::string& where);

}  // namespace ps
