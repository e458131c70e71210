// A decoder's prompt as token pruning before the language model leaves it: fewer image tokens than
// input_ids holds, the rest as they were. A family builds one from its inputs, lets the token hook
// choose image tokens, then runs it like any prompt (1-D positions count the tokens that are left;
// multimodal rotary ids stay each token's own).
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "core/model/vlm.h"

namespace ps {

struct PromptTokens {
    at::Tensor ids;                     // [B,N] int64, the image token at image tokens
    at::Tensor mask;                    // [B,N] 0/1; undefined: every token attended
    at::Tensor positions;               // [B,N,3] multimodal rotary ids where the family has them; else undefined
    std::vector<at::Tensor> per_token;  // [B,N,D'] tensors that travel with the tokens (embeddings, DeepStack)
    at::Tensor index;                   // [B,N] each token's index in input_ids; undefined while none has left
};

// Keeps the tokens `keep` [B,N] bool marks (at least one a row): each row's kept tokens right-aligned,
// a shorter row led by repeats of its first kept token, masked out (mask 0, positions 1; an
// undefined mask stays so while no row is shorter).
void keep_prompt_tokens(PromptTokens& p, const at::Tensor& keep);

// Which image each token of `slots` [B,N] bool (the image tokens) belongs to, [B,N] int64 on the
// CPU: 0 off the image tokens, else 1, 2, … per row: each run of consecutive image tokens one image,
// or with `view_tokens` > 0 one image every view_tokens tokens (images whose tokens follow each
// other). Throws ps::Error when a run is not a whole number of views.
at::Tensor image_segments(const at::Tensor& slots, int64_t view_tokens = 0);

// The first `kept` tokens of every image of `segments` (image_segments) and every text token: the
// prompt of a vision tower that delivered `kept` features a view.
at::Tensor first_of_images(const at::Tensor& segments, int64_t kept);

// Lets `hook.before_language` choose among the image tokens (ids == image_token) of `p`, whose
// per_token[0] are its embeddings, grouped into images as image_segments(…, view_tokens) does;
// nothing happens without one.
void choose_image_tokens(const TokenHook& hook, PromptTokens& p, int64_t image_token, int64_t view_tokens = 0);

}  // namespace ps
