#include "core/model/family.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "core/model/families.h"
#include "core/model/model_map.h"

namespace ps {
namespace {

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

std::vector<FamilySpec::Prefix> dual_encoder_prefixes(bool projections) {
    std::vector<FamilySpec::Prefix> out = {{"vision_model\\.", Modality::Vision}, {"text_model\\.", Modality::Language}};
    if (projections) out.push_back({"(visual|text)_projection\\.", Modality::Projector});
    return out;
}

Capabilities dual_encoder_capabilities() {
    Capabilities c;
    c.kind = ModelKind::DualEncoder;
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", false}};
    return c;
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
