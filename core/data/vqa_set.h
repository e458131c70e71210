// Questions about images with reference answers, as the field's benchmarks pose them (VQAv2 and
// GQA open-ended, POPE and MME yes/no, ScienceQA-style lettered multiple choice): the items a
// generative evaluation asks a model (core/eval/vqa_eval.h). Built in on Fashion-MNIST
// (fashion_mnist_vqa.h) or read from a user's file (vqa_file.h).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

struct LabelledImages;  // core/data/fashion_mnist.h

enum class VqaKind { Open, YesNo, Choice };
const char* vqa_kind_name(VqaKind k);  // "open", "yes-no", "choice"
std::optional<VqaKind> vqa_kind_from_name(const std::string& name);

struct VqaItem {
    nlohmann::json question_id;  // as the file wrote it (number or string); built in: the item's index
    std::string image;           // an image file; empty for a built-in image
    int64_t image_index = -1;    // built in: the row of VqaSet::images
    std::string question;        // as asked, options included for choice, without the prompt suffix
    // References: open-ended one answer, or VQAv2's ten human answers; yes/no "yes" or "no"; choice
    // the right option's letter.
    std::vector<std::string> answers;
    std::vector<std::string> options;  // choice: the options' texts, lettered A, B, C, ...
    // POPE's negative set or MME's subtask: metrics are also given per category. An item without
    // one belongs to every category (the built-in set asks each positive once for all three POPE sets).
    std::string category;
};

struct VqaSet {
    std::string name;  // "fashion-mnist test" or the question file
    VqaKind kind = VqaKind::Open;
    std::vector<VqaItem> items;
    std::shared_ptr<const LabelledImages> images;  // built in: the grey images image_index points into
    std::vector<std::string> categories() const;  // distinct non-empty categories, first seen first
};

// The text without the spaces, tabs and line breaks around it: how questions are asked and answers
// and references read.
std::string trimmed(const std::string& text);

// The options of a lettered multiple-choice question: its lines "A. text", "B. text", ... in order
// from A (empty when there are fewer than two).
std::vector<std::string> options_in_question(const std::string& question);

}  // namespace ps
