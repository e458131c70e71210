#include "core/data/calibration_options.h"

#include "core/ends_with.h"
#include "core/io/json_fields.h"

namespace ps {

CalibrationOptions CalibrationOptions::read(const JsonFields& c) {
    c.only({"data", "samples", "batch_size"});
    CalibrationOptions o;
    o.data = c.text("data", o.data);
    o.samples = c.integer("samples", o.samples, 1);
    o.batch_size = c.integer("batch_size", o.batch_size, 1);
    return o;
}

nlohmann::json CalibrationOptions::to_json() const { return {{"data", data}, {"samples", samples}, {"batch_size", batch_size}}; }

bool is_conversation_file(const std::string& data) {
    return data.size() > 5 && ends_with(data, ".json");
}

}  // namespace ps
