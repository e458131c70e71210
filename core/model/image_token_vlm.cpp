#include "core/model/image_token_vlm.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/model/layers.h"

namespace ps {

StageState ImageTokenVlm::embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const {
    if (tower == 0) return in.pixel_values.defined() ? vision_embed(in) : StageState{};
    const PromptTokens p = prompt(in, done.empty() ? at::Tensor() : done[0].hidden);
    const at::Tensor slots = p.ids == image_token_;
    StageState s = llama_start(text_, p.per_token[0], p.mask, at::arange(p.ids.size(1), p.ids.options()).unsqueeze(0), 0, slots);
    s.image_slots = slots;
    s.prompt_index = p.index;
    return s;
}

void ImageTokenVlm::block(int tower, int index, StageState& s, at::Tensor* probs) const {
    if (tower == 1) llama_decoder_block(*weights_, language_prefix_, index, text_, s, probs);
    else if (s.hidden.defined()) vision_block(index, s, probs);
}

void ImageTokenVlm::finish(int tower, StageState& s) const {
    if (tower == 1) s.hidden = llama_final_norm(*weights_, language_prefix_, text_, s.hidden);
    else if (s.hidden.defined()) vision_finish(s);
}

VlmOutputs ImageTokenVlm::head(const VlmInputs&, const std::vector<StageState>& towers) const {
    VlmOutputs out;
    out.logits = llama_logits(*weights_, language_prefix_, head_name_, text_, towers[1].hidden);
    return out;
}

std::vector<std::vector<int64_t>> ImageTokenVlm::generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                                const TokenStep& step) const {
    at::NoGradGuard no_grad;
    const PromptTokens p = prompt(in, run_tower(0, in).hidden);
    return llama_generate(*weights_, language_prefix_, head_name_, text_, p.per_token[0], p.mask, max_new_tokens, eos, step, {},
                          {&token_hook(), 1, p.ids == image_token_});
}

at::Tensor ImageTokenVlm::image_features(const at::Tensor& features, const VlmInputs&) const { return features.flatten(0, 1); }

std::string ImageTokenVlm::feature_source(const at::Tensor& features, const VlmInputs&) const {
    return "the " + std::to_string(features.defined() ? features.size(0) : 0) + " view(s)";
}

std::string ImageTokenVlm::hub_or_module_layout() {
    const auto& names = weights_->checkpoint().names();
    const bool modules = std::any_of(names.begin(), names.end(), [](const std::string& n) {
        return n.rfind("model.language_model.", 0) == 0 || n.rfind("model.vision_tower.", 0) == 0;
    });
    language_prefix_ = modules ? "model.language_model." : "language_model.model.";
    head_name_ = modules ? "lm_head.weight" : "language_model.lm_head.weight";
    return modules ? "model." : "";
}

FamilySpec image_token_family(std::string id, std::string display, std::string model_type) {
    FamilySpec f{std::move(id), std::move(display), {std::move(model_type)},
                 {{"(model\\.)?vision_tower\\.", Modality::Vision},
                  {"(model\\.)?(multi_modal_projector\\.|image_newline)", Modality::Projector},
                  {"(model\\.)?language_model\\.", Modality::Language}}};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", true}};
    return f;
}

void ImageTokenVlm::set_towers(int64_t vision_blocks) {
    towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_blocks)},
               {"language", Modality::Language, static_cast<int>(text_.layers)}};
}

at::Tensor ImageTokenVlm::square_views(const at::Tensor& pixel_values, int64_t size) const {
    if (pixel_values.dim() != 4 || pixel_values.size(0) == 0 || pixel_values.size(1) != 3 || pixel_values.size(2) != size ||
        pixel_values.size(3) != size)
        throw Error("pixel_values", shape_string(pixel_values) + " is not views [V, 3, " + std::to_string(size) + ", " +
                                        std::to_string(size) + "] of the vision tower's image size");
    return pixel_values.to(weights_->device(), weights_->dtype());
}

PromptTokens ImageTokenVlm::prompt(const VlmInputs& in, const at::Tensor& features) const {
    PromptTokens p;
    p.ids = in.input_ids.to(weights_->device());
    p.mask = in.attention_mask.defined() ? in.attention_mask.to(p.ids.device()) : at::Tensor();
    const at::Tensor rows = features.defined() ? image_features(features, in) : at::Tensor();
    // Where image tokens are the vision tokens one for one, a view's tokens are as many as the
    // prompt holds for each; a vision tower that dropped tokens leaves each view as many as it kept.
    int64_t view_tokens = 0;
    at::Tensor slots = p.ids == image_token_;
    if (rows.defined() && capabilities().image_tokens_follow_vision) {
        const int64_t count = slots.sum().item<int64_t>();
        if (rows.size(0) < count) {
            keep_prompt_tokens(p, first_of_images(image_segments(slots, count / features.size(0)), features.size(1)));
            slots = p.ids == image_token_;
        }
        view_tokens = features.size(1);
    }
    // The image tokens' own embeddings are overwritten: looked up as token 0, as Gemma 3 does for an
    // image token outside the vocabulary.
    p.per_token = {write_image_features(llama_embed_tokens(*weights_, language_prefix_, text_, p.ids.masked_fill(slots, 0)), slots, rows,
                                        image_token_, feature_source(features, in), "features; each feature needs one token")};
    choose_image_tokens(token_hook(), p, image_token_, view_tokens);
    return p;
}

}  // namespace ps
