// Questions about a labelled image and their reference answers, the kinds a generative VLM is
// trained and scored on: open-ended ("What is the item in this image?"), yes/no ("Is there a
// {class} in the image?", asked of the true class or another), lettered multiple choice and a
// caption request; and whether a generated answer is right.
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
// (yes/no: the true one half of the time) and the options (choice: four, one right). For
// evaluation, `phrasing` 0 is the fixed first phrasing; -1 draws one.
ClassQuestion class_question(QuestionKind kind, int64_t label, const std::vector<std::string>& classes, std::mt19937_64& rng,
                             int phrasing = -1);

// Whether `generated` answers `q` rightly. Open-ended and caption: it names the image's class and no
// other (whole words, case and punctuation ignored); yes/no: its first word is yes or no as it should
// be; choice: its first letter-or-word is the right option's letter.
bool answer_is_right(const ClassQuestion& q, const std::string& generated, const std::vector<std::string>& classes);

// The normalised words of a text: lower case, letters, digits and hyphens kept, the rest a space.
std::vector<std::string> answer_words(const std::string& text);

}  // namespace ps
