// Image-to-text and text-to-image retrieval over the set's own captions: recall@1 and @5, the
// share of queries with a relevant item among the top K. Items are relevant to each other when
// they share a class (fully labelled sets) or else an identical caption.
#pragma once
#include "core/eval/encode.h"
#include "core/eval/eval_result.h"

namespace ps {

EvalResult retrieval(const Vlm& model, const EvalSet& set, const EvalOptions& opt, const JobControl& job);

// Recall@k (percent, per query) of a similarity matrix [Q, N] whose relevant pairs are those
// with equal groups (query_groups [Q], item_groups [N]).
at::Tensor recall_at(const at::Tensor& similarity, const at::Tensor& query_groups, const at::Tensor& item_groups, int64_t k);

}  // namespace ps
