// Zero-shot classification: each image is given the class whose prompt-ensembled text embedding is
// closest. Top-1 accuracy overall and per class.
#pragma once
#include "core/eval/encode.h"
#include "core/eval/eval_result.h"

namespace ps {

EvalResult zero_shot(const Vlm& model, const EvalSet& set, const EvalOptions& opt, const JobControl& job);

}  // namespace ps
