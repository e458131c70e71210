// The metrics of a generative evaluation from its per-item records, by the field's rules: VQAv2
// accuracy (ten human answers) or exact match (core/eval/vqa_accuracy.h) for open-ended items;
// POPE's accuracy, precision, recall, F1 and yes-ratio, and MME's acc and acc+ where questions come
// in pairs per image (core/eval/pope.h, mme.h) for yes/no items; for multiple choice the letter
// read from the answer and the option of highest log-likelihood; teacher-forced answer NLL and KL
// to the dense model for every kind. Kept apart from the model so each rule is checked by hand.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/data/vqa_set.h"
#include "core/eval/eval_result.h"

namespace ps {

struct VqaRecord {
    std::string prompt;                 // the question as asked (prompt suffix included)
    std::string answer;                 // the generated answer; empty when none was generated
    bool generated = false;
    std::vector<double> option_logprob; // choice: log-likelihood of each option's text after the prompt
    double nll = std::numeric_limits<double>::quiet_NaN();  // summed over the reference's tokens
    double kl = std::numeric_limits<double>::quiet_NaN();   // KL(dense ‖ model) summed over the same tokens
    int64_t answer_tokens = 0;
    double score = std::numeric_limits<double>::quiet_NaN();  // the item's headline score (set by vqa_metrics), 0..1
};

// The letter a generated answer picks among `options` (lettered A, B, ...): the answer is a letter
// alone or followed by '.', ')' or ':' ("B", "(B)", "B. Sneaker"), else holds "answer is B" or
// "Answer: B", else equals one option's text after VQA normalisation ("a sneaker" → "Sneaker").
// Empty when none applies (counted wrong).
std::string choice_letter(const std::string& answer, const std::vector<std::string>& options);

// The option of highest log-likelihood; ties go to the earlier option. -1 for none.
int64_t likeliest_option(const std::vector<double>& logprobs);

// Metrics (percentages for rates, nats per token for NLL and KL; the first is the headline):
//  open: vqa_accuracy when every item has ten references, then exact_match;
//  yes-no: f1, accuracy, precision, recall, yes_ratio (with categories each is the mean over
//          them, and "<category>/<metric>" is given too); mme_acc, mme_acc_plus and mme_score
//          (their sum, summed over categories) when every image has exactly two questions in each;
//  choice: letter_accuracy, likelihood_accuracy;
//  all: answer_nll, answer_kl where recorded, and questions.
// Metrics that need generated answers (or option likelihoods) are left out when the records have
// none. Sets each record's score. records.size() must equal the items'.
EvalResult vqa_metrics(const VqaSet& set, std::vector<VqaRecord>& records);

}  // namespace ps
