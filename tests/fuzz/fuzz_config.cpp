// A config.json's text through the JSON reader and the typed reads the model families make (the
// top level and the vision / text tower sections): each value is read or refused with ps::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/model/config_reader.h"

namespace {

void read_tower(const ps::ConfigReader& c) {
    for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                            "num_key_value_heads", "image_size", "patch_size", "vocab_size", "max_position_embeddings",
                            "head_dim", "num_position_embeddings"})
        c.integer(key, 1);
    for (const char* key : {"layer_norm_eps", "rms_norm_eps", "rope_theta"}) c.number(key, 1e-5);
    for (const char* key : {"hidden_act", "model_type", "projector_hidden_act"}) c.string(key, "gelu");
    c.boolean("tie_word_embeddings", false);
    c.sub("rope_scaling").integers("mrope_section", {});  // Qwen2-VL's lists
    c.integers("fullatt_block_indexes", {});
    c.integers("deepstack_visual_indexes", {});  // Qwen3-VL
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const nlohmann::json j = ps::parse_json(std::string(reinterpret_cast<const char*>(data), size), "config.json");
        const ps::ConfigReader config(j, "config.json");
        read_tower(config);
        read_tower(config.sub("vision_config"));  // the towers' objects of the multimodal families
        read_tower(config.sub("text_config"));
    } catch (const ps::Error&) {
    }
    return 0;
}
