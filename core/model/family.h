// Model families known to core: which config `model_type`s they cover and which tensor-name
// prefixes belong to which modality. Plugins add families through register_family().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

enum class Modality { Vision = 0, Projector = 1, Language = 2, Other = 3 };
constexpr int kNumModalities = 4;
const char* modality_name(Modality m);

struct LinearLayer;

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
};

void register_family(FamilySpec spec);
// nullptr when no family covers `model_type`.
const FamilySpec* find_family(const std::string& model_type);
std::vector<std::string> known_model_types();

}  // namespace ps
