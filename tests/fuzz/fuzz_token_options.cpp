// A Plan's "tokens" section through the JSON reader and TokenOptions::read, as a Plan file is read:
// a registered method with its options or the blocks given by hand, each read or refused with
// ps::Error, and what is read writes back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/io/json_fields.h"
#include "core/io/json_util.h"
#include "core/token/token_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const nlohmann::json j = ps::parse_json(std::string(reinterpret_cast<const char*>(data), size), "plan.json");
        const ps::TokenOptions t = ps::TokenOptions::read(ps::JsonFields(j, "plan.json", "tokens"));
        (void)t.empty();
        (void)t.to_json().dump();
    } catch (const ps::Error&) {
    }
    return 0;
}
