// The ceiling zero-shot accuracy is compared with: a multinomial logistic regression on the
// model's image embeddings, fitted on `train` (full batch, AdamW, L2) and scored on `test`.
#pragma once
#include "core/eval/encode.h"
#include "core/eval/eval_result.h"

namespace ps {

struct LinearProbeOptions {
    int64_t steps = 400;
    double lr = 0.05, weight_decay = 1e-4;
};

EvalResult linear_probe(const Vlm& model, const EvalSet& train, const EvalSet& test, const EvalOptions& opt,
                        const JobControl& job, const LinearProbeOptions& probe = {});

}  // namespace ps
