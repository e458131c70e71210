// LLaVA-1.5 (LlavaForConditionalGeneration): a CLIP vision tower whose `vision_feature_layer`
// output goes through a 2-layer projector into the image-token positions of a LLaMA decoder.
// Towers: vision (its finish selects the features and projects them), then language (its embed
// scatters them into input_ids' image tokens, which come already expanded to image_seq_length per
// image, as LlavaProcessor writes them). Loads the Hub layout (language_model.model.*) and the
// newer module layout (model.language_model.*).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/model/vlm.h"

namespace ps {

// A model that can continue its text: reach it with dynamic_cast<const CausalVlm*>(vlm).
class CausalVlm {
public:
    virtual ~CausalVlm() = default;
    // Greedy decoding with a KV cache, as transformers' generate(do_sample=False): for each row of
    // the (possibly left-padded) batch, the new token ids, ending with `eos` where it was produced.
    virtual std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens,
                                                             std::optional<int64_t> eos) const = 0;
    // The same for a single prompt (a batch of one); throws ps::Error for larger batches.
    std::vector<int64_t> generate(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos) const;
};

// LLaVA-1.5 (LlavaForConditionalGeneration): name patterns, capabilities and factory.
FamilySpec llava_family();

}  // namespace ps
