#include "core/model/families.h"

#include "core/error.h"
#include "core/model/clip.h"
#include "core/model/llava.h"
#include "core/model/siglip.h"
#include "core/model/vision_text_dual_encoder.h"

namespace ps {

std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights) {
    if (map.family == "clip") return make_clip(std::move(map), std::move(weights));
    if (map.family == "llava") return make_llava(std::move(map), std::move(weights));
    if (map.family == "siglip") return make_siglip(std::move(map), std::move(weights));
    if (map.family == "vision-text-dual-encoder") return make_vision_text_dual_encoder(std::move(map), std::move(weights));
    throw Error(weights->checkpoint().config_path(),
                "model family " + map.family_display + " can be inspected but not yet run");
}

}  // namespace ps
