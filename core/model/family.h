// Model families known to core: which config `model_type`s they cover, which tensor-name prefixes
// belong to which modality, what the model can do and how it is built. Each family's file gives its
// FamilySpec (clip_family(), llava_family(), ...), listed once in families.cpp; plugins add
// families through register_family().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <memory>

#include <nlohmann/json.hpp>

#include "core/model/capabilities.h"
#include "core/model/modality.h"

namespace ps {

struct LinearLayer;
struct ModelMap;
class Vlm;
class WeightStore;

// Builds the runnable model of a mapped checkpoint.
using ModelFactory = std::unique_ptr<Vlm> (*)(ModelMap map, std::unique_ptr<WeightStore> weights);

struct FamilySpec {
    struct Prefix {
        std::string regex;  // ECMAScript, matched at the start of a tensor name
        Modality modality;
    };
    std::string id;                        // stable identifier, e.g. "llava"
    std::string display;                   // e.g. "LLaVA-1.5"
    std::vector<std::string> model_types;  // config.json "model_type" values
    std::vector<Prefix> prefixes;          // first match wins; unmatched tensors are Other
    // Why the model never runs a Linear its checkpoint holds, from config.json and the number of
    // blocks of the Linear's tower in the checkpoint (LLaVA: vision blocks past
    // vision_feature_layer); empty when it runs it. Unset: the family runs every Linear.
    std::function<std::string(const nlohmann::json& config, const LinearLayer& linear, int tower_blocks)> unused = nullptr;
    Capabilities capabilities;
    ModelFactory factory = nullptr;  // null: the family can be inspected but not run
};

// What every dual encoder shares: the prefixes of its towers ("vision_model.", "text_model.") and,
// with `projections`, of its projections into the shared space; its capabilities.
std::vector<FamilySpec::Prefix> dual_encoder_prefixes(bool projections);
Capabilities dual_encoder_capabilities();

void register_family(FamilySpec spec);
// nullptr when no family covers `model_type`.
const FamilySpec* find_family(const std::string& model_type);
std::vector<std::string> known_model_types();

}  // namespace ps
