// A Plan is the recipe of a pruning run, as JSON: which model on which device, and each module's
// section — the calibration data (core/data), the pruning method, pattern, sparsity, allocation,
// targets and the methods' own options (core/prune; top-level keys of the file), run-time token
// pruning (core/token), recovery (core/recover) and what scores a run (core/eval). Each module reads and validates its own
// section; the Plan composes them into one file. The same Plan gives the same result from the GUI,
// the CLI and a test.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/data/calibration_options.h"
#include "core/eval/evaluation_options.h"
#include "core/prune/prune_options.h"
#include "core/recover/recovery_options.h"
#include "core/token/token_options.h"

namespace ps {

struct Plan : PruneOptions {
    std::string name;   // shown in the GUI's preset list, e.g. "Wanda 50% equal V/L"
    std::string model;  // checkpoint folder; empty in presets, chosen when the Plan is run
    std::string device = "cpu", dtype = "float32";
    bool streaming = false;
    CalibrationOptions calibration;
    TokenOptions tokens;        // in effect whenever the pruned model is evaluated
    RecoveryOptions recovery;   // `prunestudio-cli recover`
    EvaluationOptions evaluation;  // the task and metric sweeps score by

    nlohmann::json to_json() const;
    // Checks every field: an unknown key, a wrong type or a value out of range throws ps::Error
    // naming `source` and the field, e.g. "plan.json: sparsity: 1.2 is outside [0, 1)".
    static Plan from_json(const nlohmann::json& j, const std::string& source);
    static Plan load(const std::string& path);
    void save(const std::string& path) const;  // atomically
};

}  // namespace ps
