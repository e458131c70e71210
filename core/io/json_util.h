// Small helpers around nlohmann::json for reading user files with one-line errors.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

// The readable part of an nlohmann exception message (without its "[json.exception...]" tag).
std::string json_error_text(const nlohmann::json::exception& e);
// Parses `text`; on failure throws ps::Error("<path>: not valid JSON (...)").
nlohmann::json parse_json(const std::string& text, const std::string& path);
// Reads and parses a file; a missing or unreadable file throws ps::Error naming it.
nlohmann::json read_json_file(const std::string& path);
// Whole file as bytes; throws ps::Error naming the file.
std::string read_text_file(const std::string& path);

}  // namespace ps
