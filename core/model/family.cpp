#include "core/model/family.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "core/model/model_map.h"

namespace ps {
namespace {

using M = Modality;

// LLaVA takes the vision features from hidden_states[vision_feature_layer] (-2 by default: before
// the last block), so the blocks from there on never run. A list of layers (features concatenated
// from several) runs up to the deepest.
std::string llava_unused(const nlohmann::json& config, const LinearLayer& l, int blocks) {
    if (l.modality != Modality::Vision || l.block < 0) return {};
    const auto it = config.find("vision_feature_layer");
    std::vector<int64_t> layers;
    if (it == config.end()) layers = {-2};
    else if (it->is_number_integer()) layers = {it->get<int64_t>()};
    else if (it->is_array())
        for (const auto& v : *it)
            if (v.is_number_integer()) layers.push_back(v.get<int64_t>());
    int64_t used = -1;  // blocks run
    for (int64_t layer : layers) used = std::max(used, layer < 0 ? blocks + 1 + layer : layer);
    if (used < 0 || l.block < used) return {};
    return "never run: vision_feature_layer " + (it == config.end() ? std::string("-2") : it->dump()) +
           " takes the vision features before block " + std::to_string(used);
}

// Name patterns follow the modules transformers builds; both the older Hub layout
// (language_model.model.*, vision_tower.*) and the newer one (model.language_model.*) are covered.
std::vector<FamilySpec> builtin_families() {
    const FamilySpec::Prefix dual_vision{"vision_model\\.", M::Vision};
    const FamilySpec::Prefix dual_text{"text_model\\.", M::Language};
    return {
        {"clip", "CLIP", {"clip"},
         {dual_vision, dual_text, {"(visual|text)_projection\\.", M::Projector}}},
        {"siglip", "SigLIP", {"siglip", "siglip2"}, {dual_vision, dual_text}},
        {"vision-text-dual-encoder", "VisionTextDualEncoder", {"vision-text-dual-encoder"},
         {dual_vision, dual_text, {"(visual|text)_projection\\.", M::Projector}}},
        {"llava", "LLaVA-1.5", {"llava"},
         {{"(model\\.)?vision_tower\\.", M::Vision},
          {"(model\\.)?multi_modal_projector\\.", M::Projector},
          {"(model\\.)?language_model\\.", M::Language}},
         llava_unused},
        {"blip-2", "BLIP-2", {"blip-2"},
         {{"(model\\.)?vision_model\\.", M::Vision},
          {"(model\\.)?(qformer\\.|query_tokens|language_projection\\.)", M::Projector},
          {"(model\\.)?language_model\\.", M::Language}}},
        {"idefics3", "Idefics3 / SmolVLM", {"idefics3", "smolvlm"},
         {{"model\\.vision_model\\.", M::Vision},
          {"model\\.connector\\.", M::Projector},
          {"model\\.text_model\\.", M::Language}}},
        {"qwen2-vl", "Qwen2-VL", {"qwen2_vl", "qwen2_5_vl"},
         {{"(model\\.)?visual\\.merger\\.", M::Projector},
          {"(model\\.)?visual\\.", M::Vision},
          {"model\\.", M::Language}}},
    };
}

struct Registry {
    std::mutex mu;
    std::deque<FamilySpec> families;  // deque: registering keeps earlier pointers valid
    Registry() {
        for (auto& f : builtin_families()) families.push_back(std::move(f));
    }
};

Registry& registry() {
    static Registry r;
    return r;
}

}  // namespace

const char* modality_name(Modality m) {
    switch (m) {
        case Modality::Vision: return "vision";
        case Modality::Projector: return "projector";
        case Modality::Language: return "language";
        case Modality::Other: break;
    }
    return "other";
}

void register_family(FamilySpec spec) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.families.push_back(std::move(spec));
}

const FamilySpec* find_family(const std::string& model_type) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const FamilySpec& f : r.families)
        if (std::find(f.model_types.begin(), f.model_types.end(), model_type) != f.model_types.end()) return &f;
    return nullptr;
}

std::vector<std::string> known_model_types() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::vector<std::string> out;
    for (const FamilySpec& f : r.families) out.insert(out.end(), f.model_types.begin(), f.model_types.end());
    return out;
}

}  // namespace ps
