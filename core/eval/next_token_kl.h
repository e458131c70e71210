// How far a pruned generative model's predictions moved: KL(dense ‖ model) of the next-token
// distributions (softmax over the vocabulary) at every attended position of the given prompts,
// averaged over positions. The quality measure of a decoder run that needs no benchmark file.
#pragma once
#include <vector>

#include "core/eval/eval_result.h"
#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

// Metrics: mean_kl, max_kl (nats), positions, samples. Both models see the same inputs; throws
// ps::Error when a model gives no logits (not a decoder) or their vocabularies differ.
EvalResult next_token_kl(const Vlm& model, const Vlm& dense, const std::vector<VlmInputs>& inputs, const JobControl& job);

}  // namespace ps
