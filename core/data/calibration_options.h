// The Plan's "calibration" section: which data the calibration batches come from and how many.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct CalibrationOptions {
    std::string data = "fashion-mnist";  // or a folder with captions.jsonl, a LLaVA conversation .json file, or a .safetensors file of model inputs
    int64_t samples = 128;
    int64_t batch_size = 32;

    // Reads the section `f` (defaults for what it leaves out); throws ps::Error naming the field.
    static CalibrationOptions read(const JsonFields& f);
    nlohmann::json to_json() const;
};

// Whether `data` names a LLaVA conversation file (core/data/llava_conversations.h): a path ending in .json.
bool is_conversation_file(const std::string& data);

}  // namespace ps
