// Text prompts for CLIP-style zero-shot classification: each class name put into a few sentence
// templates, whose text embeddings are averaged per class.
#pragma once
#include <string>
#include <vector>

namespace ps {

// Six templates with a "{}" placeholder: "a photo of a {}.", "a photo of the {}.",
// "a black and white photo of a {}.", "a low resolution photo of a {}.",
// "a product photo of a {}.", "a photo of a piece of clothing: a {}.".
const std::vector<std::string>& zero_shot_templates();

// Class-major: result[c * templates.size() + t] is templates[t] with every "{}" replaced by
// classes[c]. Throws ps::Error for a template without "{}".
std::vector<std::string> class_prompts(const std::vector<std::string>& classes, const std::vector<std::string>& templates);

}  // namespace ps
