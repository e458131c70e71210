#include "core/model/families.h"

#include <map>

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/llava.h"
#include "core/model/siglip.h"
#include "core/model/vision_text_dual_encoder.h"

namespace ps {

namespace {

using Factory = std::unique_ptr<Vlm> (*)(ModelMap, std::unique_ptr<WeightStore>);

const std::map<std::string, Factory>& factories() {
    static const std::map<std::string, Factory> f = {{"clip", make_clip},
                                                     {"llava", make_llava},
                                                     {"siglip", make_siglip},
                                                     {"vision-text-dual-encoder", make_vision_text_dual_encoder}};
    return f;
}

}  // namespace

std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights) {
    const auto it = factories().find(map.family);
    if (it == factories().end())
        throw Error(weights->checkpoint().config_path(), "model family " + map.family_display + " can be inspected but not yet run");
    return it->second(std::move(map), std::move(weights));
}

bool has_runnable_model(const std::string& family_id) { return factories().count(family_id) > 0; }

}  // namespace ps
