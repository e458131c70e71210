// Generative evaluation on VQA-style questions (core/data/vqa_set.h): each question asked in the
// model's chat format with LLaVA's evaluation prompt suffix, answered by batched greedy decoding
// with the KV cache, and — teacher-forced on the same prompt — the reference answer's
// negative log-likelihood, each option's log-likelihood for multiple choice, and the token-level
// KL to a dense model on the reference answer. The metrics are core/eval/vqa_metrics.h's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/vqa_set.h"
#include "core/eval/vqa_metrics.h"
#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

struct VqaEvalOptions {
    int64_t batch_size = 16;
    int max_new_tokens = 0;    // 0: 16 for open-ended questions, 8 for yes/no and choice
    bool generate = true;      // greedy answers, and the metrics read from them
    bool likelihood = true;    // reference NLL and option log-likelihoods
    const Vlm* dense = nullptr;  // when set: KL(dense ‖ model) on the reference answers' tokens
    // Appended on a new line, as LLaVA's evaluation files do, unless the question ends with it.
    std::string open_suffix = "Answer the question using a single word or phrase.";
    std::string choice_suffix = "Answer with the option's letter from the given choices directly.";
};

struct VqaEvalResult {
    EvalResult metrics;
    std::vector<VqaRecord> records;  // one per question, in the set's order
};

// The text asked for `item`: its question and the kind's suffix.
std::string vqa_prompt(const VqaItem& item, VqaKind kind, const VqaEvalOptions& opt);
// The reference continuation scored teacher-forced: yes/no "Yes" / "No", choice the letter,
// open-ended the first reference with its first letter capitalised (as chat models answer).
std::string vqa_reference_text(const VqaItem& item, VqaKind kind);

// Throws ps::Error for a model that does not generate (or gives no logits when likelihoods are
// asked), an image that cannot be decoded (naming it), and Cancelled on cancel.
VqaEvalResult evaluate_vqa(const Vlm& model, const VqaSet& set, const VqaEvalOptions& opt, const JobControl& job);

}  // namespace ps
