#include "core/job/plan.h"

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/json_fields.h"
#include "core/io/json_util.h"

namespace ps {
namespace {

// The Plan's own keys and the sections of modules other than pruning.
const std::set<std::string> kRunKeys = {"name",        "model",    "device", "dtype",     "streaming",
                                        "calibration", "recovery", "tokens", "evaluation"};

}  // namespace

Plan Plan::from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source, "a Plan must be a JSON object");
    const JsonFields f(j, source, "");
    std::set<std::string> keys = PruneOptions::keys();
    for (const std::string& k : kRunKeys)
        if (!keys.insert(k).second) f.fail("a registered method's options section has the name of a Plan key", k);
    f.only(keys);
    Plan p;
    static_cast<PruneOptions&>(p) = PruneOptions::read(f);
    p.name = f.text("name", "");
    p.model = f.text("model", "");  // presets leave it to the user
    p.device = f.text("device", p.device);
    p.dtype = f.text("dtype", p.dtype);
    if (p.dtype != "float32" && p.dtype != "bfloat16" && p.dtype != "float16")
        f.fail("\"" + p.dtype + "\" is not float32, bfloat16 or float16", "dtype");
    p.streaming = f.boolean("streaming", p.streaming);
    if (f.find("calibration")) p.calibration = CalibrationOptions::read(f.sub("calibration"));
    if (f.find("recovery")) p.recovery = RecoveryOptions::read(f.sub("recovery"));
    if (f.find("tokens")) p.tokens = TokenOptions::read(f.sub("tokens"));
    if (f.find("evaluation")) p.evaluation = EvaluationOptions::read(f.sub("evaluation"));
    return p;
}

nlohmann::json Plan::to_json() const {
    nlohmann::json j = {{"name", name}, {"model", model}, {"device", device}, {"dtype", dtype}, {"streaming", streaming}};
    j["calibration"] = calibration.to_json();
    write(j);
    j["recovery"] = recovery.to_json();
    j["tokens"] = tokens.to_json();
    j["evaluation"] = evaluation.to_json();
    return j;
}

Plan Plan::load(const std::string& path) { return from_json(read_json_file(path), path); }

void Plan::save(const std::string& path) const { write_file_atomic(path, to_json().dump(2) + "\n"); }

}  // namespace ps
