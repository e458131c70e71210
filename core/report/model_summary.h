// ModelMap rendered for people (aligned text) and for scripts (JSON): the output of `inspect`.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/model/model_map.h"

namespace ps {

nlohmann::json model_map_json(const ModelMap& map);
std::string model_map_text(const ModelMap& map);
std::string format_count(uint64_t n);  // 1234567 -> "1.23M"

}  // namespace ps
