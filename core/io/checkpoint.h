// A Hugging Face checkpoint folder: config.json plus one or more .safetensors shards (single file,
// sharded through model.safetensors.index.json, or loose *.safetensors). Torch-free; tensor views
// live in core/io/tensor_view.h.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/io/safetensors.h"

namespace ps {

class Checkpoint {
public:
    struct Entry {
        const TensorInfo* info;  // owned by the shard
        std::shared_ptr<const SafetensorsFile> shard;
    };

    // Opens the folder: reads config.json and maps every shard. Throws ps::Error naming the file.
    // A .gguf file opens as the checkpoint transformers makes of it (core/io/gguf_checkpoint.h):
    // dir() and config_path() are then the file itself.
    static Checkpoint open(const std::string& dir);

    const std::string& dir() const { return dir_; }
    const nlohmann::json& config() const { return *config_; }
    const std::string& config_path() const { return config_path_; }
    bool is_gguf() const { return config_path_ == dir_; }
    std::string model_type() const;  // "" when config.json has none
    const std::vector<std::shared_ptr<const SafetensorsFile>>& shards() const { return shards_; }
    // All tensors sorted by name.
    const std::vector<std::string>& names() const { return names_; }
    const Entry* find(const std::string& name) const;
    const Entry& at(const std::string& name) const;  // throws ps::Error naming the checkpoint
    uint64_t total_bytes() const;

private:
    std::string dir_, config_path_;
    std::shared_ptr<const nlohmann::json> config_;
    std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
    std::map<std::string, Entry> entries_;
    std::vector<std::string> names_;
};

}  // namespace ps
