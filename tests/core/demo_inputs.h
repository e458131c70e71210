// Inputs for the LLaVA demo checkpoint (core/model/demo_checkpoint.h) shared by the pruning tests:
// two prompts with one 64-px image each (its 16 image tokens, id 1023), the second left-padded.
#pragma once
#include <ATen/ATen.h>

#include "core/model/vlm.h"

namespace ps_test {

inline ps::VlmInputs demo_llava_prompts() {
    at::manual_seed(0);
    ps::VlmInputs in;
    in.pixel_values = at::randn({2, 3, 64, 64});
    const at::Tensor text = at::randint(1, 1000, {2, 8}, at::kLong);
    const at::Tensor image = at::full({16}, 1023, at::kLong), pad = at::zeros({2}, at::kLong);
    in.input_ids = at::stack({at::cat({text[0].slice(0, 0, 2), image, text[0].slice(0, 2)}),
                              at::cat({pad, text[1].slice(0, 0, 1), image, text[1].slice(0, 1, 6)})});
    in.attention_mask = at::ones_like(in.input_ids);
    in.attention_mask[1].slice(0, 0, 2).fill_(0);
    return in;
}

}  // namespace ps_test
