// The rules that choose one image's tokens without attention maps, or merge them: each takes that
// image's token features and how many to keep, and returns the kept tokens' indices in ascending
// order. Run-time token pruning applies them before the language model (random, DART, DivPrune)
// or at the vision tower's feature block (VisionZip).
#pragma once
#include <cstdint>

#include <ATen/ATen.h>

namespace ps {

// A seeded random choice: the first k of randperm(n) drawn from `g`, sorted.
at::Tensor random_tokens(int64_t n, int64_t k, at::Generator& g);

// DART (duplication-aware): the `pivots` tokens with the largest L2 norm (at most k), then the k -
// pivots others whose largest cosine similarity to a pivot is smallest. x [n,D].
at::Tensor dart_tokens(const at::Tensor& x, int64_t k, int64_t pivots);

// DivPrune (max-min diversity), greedy over the cosine distance d = 1 - cos: first the token whose
// nearest other token is farthest, then repeatedly the unchosen token whose nearest chosen token is
// farthest; the first such token on ties. x [n,D].
at::Tensor divprune_tokens(const at::Tensor& x, int64_t k);

// VisionZip's dominant and contextual tokens of hidden [n,D] (patches only): the `dominant` tokens
// with the highest `scores` [n]; then, of the rest in order, `contextual` targets at a stride of
// max(1, rest / contextual) and every other token assigned to the target of largest cosine
// similarity; a contextual token is its target's features plus the mean of those assigned to it.
struct MergedTokens {
    at::Tensor kept;         // [dominant] indices, ascending
    at::Tensor contextual;   // [min(contextual, rest), D]
    at::Tensor merged_into;  // [n] int64: the contextual token (0..) each other token went into; -1 for the dominant
};
MergedTokens visionzip_tokens(const at::Tensor& hidden, const at::Tensor& scores, int64_t dominant, int64_t contextual);

}  // namespace ps
