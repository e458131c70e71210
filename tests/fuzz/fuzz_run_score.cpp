// A run's score.json through the JSON reader and RunScore::from_json, as the app and `score` read it
// back: a score is read or refused with ps::Error, and what is read prints.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/job/run_score.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const nlohmann::json j = ps::parse_json(std::string(reinterpret_cast<const char*>(data), size), "score.json");
        const ps::RunScore s = ps::RunScore::from_json(j, "score.json");
        (void)s.to_text();
        (void)s.to_json().dump();
    } catch (const ps::Error&) {
    }
    return 0;
}
