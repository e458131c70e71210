// A generative evaluation's answers as LLaVA's answer jsonl (llava/eval/model_vqa_loader.py writes
// it; the official scorers, e.g. eval_pope.py and the VQAv2 submission converter, read it): one
// line per question, {"question_id", "prompt", "text", "answer_id", "model_id", "metadata": {}}.
#pragma once
#include <string>
#include <vector>

#include "core/data/vqa_set.h"
#include "core/eval/vqa_metrics.h"

namespace ps {

// The file's text; answer_id is "<model_id>-<question_id>" (LLaVA draws a random id; a stable one
// lets two runs be compared line by line).
std::string llava_answers_jsonl(const VqaSet& set, const std::vector<VqaRecord>& records, const std::string& model_id);

}  // namespace ps
