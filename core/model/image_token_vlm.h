// A generative VLM whose vision tower's features are written over the image tokens of a
// LLaMA-family decoder's prompt (LLaVA, InternVL, Idefics3): tower 0 is the family's vision tower
// (with its projector in its finish), tower 1 the decoder, whose stages, head and greedy generation
// live here once. A family supplies its vision stages and how its finished features become one row
// per image token, in prompt order.
#pragma once
#include <string>

#include "core/model/causal_vlm.h"
#include "core/model/family.h"
#include "core/model/llama.h"
#include "core/model/prompt_tokens.h"
#include "core/model/vlm.h"

namespace ps {

class ImageTokenVlm : public Vlm, public CausalVlm {
public:
    // Without pixel_values the vision tower is empty and the prompt must hold no image tokens.
    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const override;
    void block(int tower, int index, StageState& s, at::Tensor* probs) const override;
    void finish(int tower, StageState& s) const override;
    VlmOutputs head(const VlmInputs& in, const std::vector<StageState>& towers) const override;
    std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                     const TokenStep& step) const override;

protected:
    ImageTokenVlm(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {}

    // The vision tower's stages, called only with pixel_values given.
    virtual StageState vision_embed(const VlmInputs& in) const = 0;
    virtual void vision_block(int index, StageState& s, at::Tensor* probs) const = 0;
    virtual void vision_finish(StageState& s) const = 0;
    // The finished vision tower's features [views, tokens, D] as image-token rows [tokens, D] in
    // prompt order (every view's in turn, unless the family packs them otherwise).
    virtual at::Tensor image_features(const at::Tensor& features, const VlmInputs& in) const;
    // What gave those features, for the error of a prompt with another number of image tokens.
    virtual std::string feature_source(const at::Tensor& features, const VlmInputs& in) const;

    // The towers: `vision_blocks` of the vision tower, then the decoder's layers (text_ set).
    void set_towers(int64_t vision_blocks);
    // The Hub layout (vision_tower.*, multi_modal_projector.*, language_model.model.*,
    // language_model.lm_head) or transformers' module layout (model.vision_tower.*, ...,
    // model.language_model.*, lm_head), by the checkpoint's names: sets language_prefix_ and
    // head_name_, and returns the prefix of the other modules ("" or "model.").
    std::string hub_or_module_layout();
    // `pixel_values` as views [V, 3, size, size] on the weights' device and in their dtype; throws
    // ps::Error naming their shape otherwise.
    at::Tensor square_views(const at::Tensor& pixel_values, int64_t size) const;

    // Set by the family's constructor: the decoder, the image token, the LlamaModel's prefix
    // (holding embed_tokens, layers, norm) and the lm_head weight's name.
    LlamaConfig text_;
    int64_t image_token_ = 0;
    std::string language_prefix_, head_name_;

private:
    // The prompt with the image features written over its image tokens (per_token[0]), as many of
    // them as token pruning before the language model leaves.
    PromptTokens prompt(const VlmInputs& in, const at::Tensor& features) const;
};

// The spec of a family in those layouts (LLaVA's generations, InternVL, Gemma 3): its name
// patterns and what every such family can do (generative, image tokens in the language model,
// towers in vision_config and text_config, the decoder's heads removable).
FamilySpec image_token_family(std::string id, std::string display, std::string model_type);

}  // namespace ps
