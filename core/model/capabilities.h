// What a model can do, filled in by its family's file and asked by everything outside core/model
// instead of the family's name: its kind (which also decides the calibration and recovery loss:
// contrastive for dual encoders, next-token for generative models), where image tokens sit, how a
// question becomes a prompt, and what structured pruning may remove and rewrite.
#pragma once
#include <string>
#include <vector>

#include "core/model/modality.h"

namespace ps {

enum class ModelKind {
    DualEncoder,  // image and text towers meet in a shared embedding space (CLIP, SigLIP, ...)
    Generative,   // a language model reads the image through image tokens and generates text (LLaVA, ...)
};

// One tower as structured pruning sees it.
struct TowerCapabilities {
    Modality modality = Modality::Other;
    std::string config_key;        // the config.json object its sizes live in, rewritten by width and depth pruning
                                   // ("": the top level, for a language model alone)
    bool removable_heads = false;  // width pruning may remove attention heads (GQA groups): the config states
                                   // head_dim, so transformers loads fewer heads of the same size
    std::string width_key = "intermediate_size";  // the config field of its MLP width (OPT: ffn_dim)
};

struct Capabilities {
    ModelKind kind = ModelKind::DualEncoder;
    // The image's features take the places of image tokens in the language sequence, as many per
    // image as the prompt holds: token pruning drops image tokens before the language model (the
    // prompt then holds fewer) or in the decoder, and text-guided importance (last prompt token ->
    // image tokens) applies.
    bool image_tokens_in_language = false;
    // With image tokens in the language sequence, run-time token pruning inside the vision tower:
    // 0 unless the next field allows it one for one; n when patches leave in
    // groups of n consecutive tokens, one image token each, whose places the language tower then
    // drops from the prompt, keeping the other tokens' positions (Qwen2-VL's 2 x 2 merge: 4).
    int vision_token_group = 0;
    // With image tokens in the language sequence: each view's vision tokens (but a [CLS] the
    // projector leaves out) become its image tokens one for one through a per-token projector
    // (LLaVA-1.5), so the vision tower may drop tokens and the prompt's run of image tokens for the
    // view shortens to what it kept.
    bool image_tokens_follow_vision = false;
    // Whether the image tokens stand for places in the image (a grid, or tiles of grids), so that
    // text-guided importance can be drawn over it; false where they are learned queries (BLIP-2).
    bool image_tokens_spatial = true;
    // Whether the vision tower's token 0 is a [CLS] token (ViT, CLIP), which token pruning keeps and
    // the cls metric reads; false when every token is a patch.
    bool vision_cls = true;
    // Generative models: the prompt a question becomes, "{image}" and "{question}" replaced
    // (LLaVA-1.5: "USER: {image}\n{question} ASSISTANT:"; "{image| }" puts a space there when
    // there is no image); empty for dual encoders.
    std::string chat_template;
    // The tokens the prompt puts around each image's tokens, by their text in the tokenizer
    // (InternVL: "<img>", "</img>"); empty when there are none or the config names their ids
    // (Qwen2-VL's vision_start_token_id, vision_end_token_id).
    std::string image_start, image_end;
    // Text the processor writes on both sides of an image's part, joined to the text around it
    // (Gemma 3: a blank line).
    std::string image_spacing;
    // Idefics3's image prompt: an image cut into a grid of tiles is each tile's tokens after
    // image_start and <row_r_col_c>, a line break after each row of tiles, a line break, then its
    // global view's tokens after image_start and <global-img>, then image_end; an image of one view
    // is the global view's part alone.
    bool tile_markers = false;
    // The image tokens a view becomes, where the model knows it and config.json states no
    // image_seq_length (Idefics3: (patches a side / scale_factor)^2); 0: config.json's.
    int64_t view_tokens = 0;
    std::vector<TowerCapabilities> towers;

    bool generative() const { return kind == ModelKind::Generative; }
    // nullptr when the model has no tower of that modality.
    const TowerCapabilities* tower(Modality m) const {
        for (const TowerCapabilities& t : towers)
            if (t.modality == m) return &t;
        return nullptr;
    }
};

}  // namespace ps
