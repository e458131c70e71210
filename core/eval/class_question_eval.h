// Generative accuracy on labelled images: each image asked one question of a kind
// (core/data/class_questions.h) in the model's chat format, the answer generated greedily and
// judged by answer_is_right. Yes/no questions ask the true class of half the images, so balanced
// accuracy (the mean of the yes and no recalls) is reported beside plain accuracy.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/class_questions.h"
#include "core/data/fashion_mnist.h"
#include "core/job_control.h"
#include "core/model/vlm.h"

namespace ps {

struct QuestionEvalOptions {
    QuestionKind kind = QuestionKind::Open;
    int64_t limit = -1;      // the first `limit` images (-1: all)
    int64_t batch_size = 32;
    uint64_t seed = 0;       // the yes/no split and the choice options
    int64_t examples = 5;    // (question, answer, generated) kept for the report
};

struct QuestionEvalResult {
    QuestionKind kind = QuestionKind::Open;
    int64_t n = 0, right = 0;
    double accuracy = 0;
    double balanced_accuracy = 0;  // yes/no: (yes recall + no recall) / 2; otherwise = accuracy
    double yes_ratio = 0;          // yes/no: share of answers that were yes
    struct Example {
        std::string question, answer, generated;
        bool right = false;
    };
    std::vector<Example> examples;

    // kind, images, right, accuracy (%), for yes/no balanced_accuracy (%) and yes_ratio, examples.
    nlohmann::json to_json() const;
    // One line: "open-ended accuracy 85.10% (10000 images)", with the balanced accuracy for yes/no.
    std::string to_text() const;
};

// Throws ps::Error for a model that does not generate (see CausalVlm).
QuestionEvalResult evaluate_class_questions(const Vlm& model, const LabelledImages& set, const QuestionEvalOptions& opt,
                                            const JobControl& job);

}  // namespace ps
