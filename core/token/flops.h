// FLOPs of a model's transformer blocks for one sample, counted exactly for what the blocks compute
// (2 FLOPs per multiply-add): every Linear 2·N·rows·cols over its live rows and columns, and the
// attention products Q·Kᵀ and A·V, 2·N²·W each, W the live query width. Structurally pruned heads
// and channels are zero rows/columns and do not count; unstructured zeros do (dense kernels still
// multiply them). Norms, softmax, activations, embeddings and output heads (order N·D) are left out.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/vlm.h"
#include "core/token/token_pruning.h"

namespace ps {

struct BlockFlops {
    int tower = 0, block = 0;
    int64_t tokens = 0;
    double linear = 0, attention = 0;
};

struct FlopsCount {
    std::vector<BlockFlops> blocks;
    double linear = 0, attention = 0;
    double total() const { return linear + attention; }
    nlohmann::json to_json() const;
};

// What a block costs at the weights' present live widths: FLOPs per token (the Linears) and per
// token² (the attention products). Reading the widths touches every block weight once.
struct BlockCost {
    int tower = 0, block = 0;
    double per_token = 0, per_token2 = 0;
};
std::vector<BlockCost> block_costs(const Vlm& model);

// tokens[t][i]: the number of tokens block i of tower t runs on (one sample).
FlopsCount block_flops(const std::vector<BlockCost>& costs, const std::vector<std::vector<int64_t>>& tokens);
FlopsCount block_flops(const Vlm& model, const std::vector<std::vector<int64_t>>& tokens);

// The tokens one sample brings to the towers, measured on the first sample batch by running it
// through the model as it is: vision tokens (with [CLS]), the mean unpadded language length and,
// for LLaVA, the most image tokens in one prompt.
struct SampleTokens {
    int64_t vision = 0, language = 0, image = 0;
};
SampleTokens sample_tokens(const Vlm& model, const VlmInputs& batch);

// The tokens each block meets under `p` for a sample of `vision_tokens` (with [CLS], where the
// tower has one) and `language_tokens` (LLaVA, Qwen2-VL: `image_tokens` of them image tokens)
// entering the towers; a Qwen2-VL image counted as one, its groups leaving the prompt with it; a
// prompt of several views whose image tokens follow the patches (LLaVA-1.5) losing each view's
// dropped patches; image tokens chosen before the language model counted as kept_tokens of them.
std::vector<std::vector<int64_t>> token_counts(const Vlm& model, const TokenPruning& p, int64_t vision_tokens,
                                               int64_t language_tokens, int64_t image_tokens = 0);

// The image tokens a language model runs on in effect when they leave in stages: the mean over its
// layers of the image tokens each layer meets, Σ (L_i - L_(i-1)) T_(i-1) / L, from the language
// tower's row of token_counts() and the prompt's `text_tokens`.
double equivalent_image_tokens(const std::vector<int64_t>& language_counts, int64_t text_tokens);

}  // namespace ps
