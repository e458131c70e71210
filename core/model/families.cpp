#include "core/model/families.h"

#include "core/error.h"
#include "core/model/blip2.h"
#include "core/model/clip.h"
#include "core/model/gemma3.h"
#include "core/model/idefics3.h"
#include "core/model/internvl.h"
#include "core/model/llama_lm.h"
#include "core/model/llava.h"
#include "core/model/qwen_vl.h"
#include "core/model/siglip.h"
#include "core/model/vision_text_dual_encoder.h"

namespace ps {

std::vector<FamilySpec> builtin_families() {
    return {clip_family(),     siglip_family(),   vision_text_dual_encoder_family(), llava_family(),      llava_next_family(),
            llava_onevision_family(), internvl_family(), idefics3_family(), gemma3_family(), llama_lm_family(),
            qwen2_vl_family(), qwen3_vl_family(), blip2_family()};
}

std::unique_ptr<Vlm> create_family_model(ModelMap map, std::unique_ptr<WeightStore> weights) {
    const FamilySpec* spec = find_family(map.model_type);
    if (!spec || !spec->factory)
        throw Error(weights->checkpoint().config_path(), "model family " + map.family_display + " can be inspected but not yet run");
    return spec->factory(std::move(map), std::move(weights));
}

}  // namespace ps
