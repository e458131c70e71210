// A user's benchmark file, in either of two JSON Lines layouts, one question a line:
//  - LLaVA's evaluation questions (llava/eval/model_vqa_loader.py): {"question_id", "image",
//    "text", "category"?}; `text` is asked as it is (a trailing prompt suffix is not repeated);
//    the references come from an `answers` / `answer` / `label` field of the line or, with an
//    annotation file, from its line of the same question_id (VQAv2's [{"answer": ...}] lists work).
//  - PruneStudio's vqa.jsonl (docs/vqa_format.md): {"id"?, "image", "question", "answers",
//    "kind"?, "options"?, "category"?}; choice questions get their options lettered in the prompt.
// Images are relative to the image folder (default: the file's folder). The kind is given, or
// read from the file: "kind" fields, else yes/no when every reference is yes or no, choice when
// every question lists lettered options and every reference is a letter, else open.
#pragma once
#include <optional>
#include <string>

#include "core/data/vqa_set.h"

namespace ps {

struct VqaFileOptions {
    std::string image_folder;          // empty: the question file's folder
    std::string annotations;           // empty: the answers are in the question file
    std::optional<VqaKind> kind;       // empty: from the file
};

// Throws ps::Error naming the file and line: not a JSON object, a missing or mistyped field, an
// unknown kind or kinds that differ, an image that is missing or outside the folder, a repeated
// question_id, a question without references, a yes/no reference other than yes/no, a choice
// without options or with a reference that is not one of their letters; and naming the
// annotation file for its own such lines. An empty file is an error too.
VqaSet load_vqa_file(const std::string& file, const VqaFileOptions& opt = {});

}  // namespace ps
