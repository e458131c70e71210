// How far a pruned model's predictions moved: the mean KL(dense || model) of the zero-shot class
// distributions (softmax of the logits over the classes) over the set's images, overall and per
// class. Sets without classes use their captions as the candidates.
#pragma once
#include "core/eval/encode.h"
#include "core/eval/eval_result.h"

namespace ps {

EvalResult logit_kl(const Vlm& model, const Vlm& dense, const EvalSet& set, const EvalOptions& opt, const JobControl& job);

}  // namespace ps
