// VQAv2's scoring of a generated answer, as the evaluation server's vqaEval.py (the VQA
// Challenge's, run by EvalAI) applies it: the answer normalised — punctuation stripped or turned
// into spaces by its rules, at most 32 periods not followed by a digit dropped, lower case, number
// words zero to ten as digits, articles dropped, contractions restored — then matched against the
// ten human answers.
#pragma once
#include <string>
#include <vector>

namespace ps {

// The answer as vqaEval.py compares it: line breaks and tabs as spaces, trimmed, then its
// processPunctuation and processDigitArticle ("Two dogs!" → "2 dogs", "isnt" → "isn't").
std::string vqa_normalize_answer(const std::string& answer);

// VQA accuracy in [0, 1]: over each human answer left out in turn, min(1, matches among the
// others / 3), averaged. The human answers get processPunctuation only, and only when they are not
// all the same — the server's rule, kept as it is. Empty `human_answers` scores 0.
double vqa_accuracy(const std::string& answer, const std::vector<std::string>& human_answers);

// Exact match (GQA, or one reference answer): both sides normalised as vqa_normalize_answer does.
bool vqa_exact_match(const std::string& answer, const std::string& reference);

}  // namespace ps
