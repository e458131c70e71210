// Questions about a labelled image and the answers a generative VLM is trained to give (the
// projector's training data): open-ended ("What is the item in this image?"), yes/no ("Is there a
// {class} in the image?", asked of the true class or another), lettered multiple choice and a
// caption request. Evaluation asks core/data/fashion_mnist_vqa.h's questions.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ps {

enum class QuestionKind { Open, YesNo, Choice, Caption };
const char* question_kind_name(QuestionKind k);  // "open", "yes-no", "choice", "caption"

struct ClassQuestion {
    QuestionKind kind = QuestionKind::Open;
    int64_t label = 0;      // the image's class
    std::string question;   // the user's text
    std::string answer;     // the reference answer, as the model is trained to give it
    bool yes = false;       // yes/no: whether the asked class is the image's
    std::string letter;     // choice: the right option's letter
};

// One question of `kind` about an image of class `label`; `rng` picks the phrasing, the class asked
// (yes/no: the true one half of the time) and the options (choice: four, one right); `phrasing`
// >= 0 fixes the phrasing (yes/no: even asks the true class), -1 draws one.
// "a sneaker", "an ankle boot": a class name with its indefinite article.
std::string with_article(const std::string& noun);
// The text with its first letter in upper case, as answers are given ("Sneaker").
std::string capitalised(std::string s);

// Four options for a multiple-choice question about class `label` of `classes`: three other classes
// in an order drawn by `rng`, and the label at a place drawn after them, returned in `right`.
std::vector<int64_t> choice_options(int64_t label, int64_t classes, std::mt19937_64& rng, size_t& right);

ClassQuestion class_question(QuestionKind kind, int64_t label, const std::vector<std::string>& classes, std::mt19937_64& rng,
                             int phrasing = -1);

}  // namespace ps
