#include "core/data/class_questions.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/error.h"

namespace ps {
namespace {

template <size_t N>
const std::string& pick(const std::string (&options)[N], std::mt19937_64& rng, int phrasing) {
    return options[phrasing >= 0 ? static_cast<size_t>(phrasing) % N : std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

const std::string kOpen[] = {"What is the item in this image?", "What is shown in the image?",
                             "What kind of clothing item is this?", "Name the item in the picture."};
const std::string kShort = " Answer the question using a single word or phrase.";
const std::string kCaption[] = {"Describe the image briefly.", "Write a short caption for this image."};
const std::string kLetters = "ABCD";

}  // namespace

std::string with_article(const std::string& noun) {
    return std::string(!noun.empty() && std::strchr("aeiou", noun[0]) ? "an " : "a ") + noun;
}

std::string capitalised(std::string s) {
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
}

const char* question_kind_name(QuestionKind k) {
    switch (k) {
        case QuestionKind::Open: return "open";
        case QuestionKind::YesNo: return "yes-no";
        case QuestionKind::Choice: return "choice";
        case QuestionKind::Caption: return "caption";
    }
    return "?";
}

std::vector<int64_t> choice_options(int64_t label, int64_t classes, std::mt19937_64& rng, size_t& right) {
    std::vector<int64_t> others;
    for (int64_t c = 0; c < classes; ++c)
        if (c != label) others.push_back(c);
    std::shuffle(others.begin(), others.end(), rng);
    std::vector<int64_t> options(others.begin(), others.begin() + 3);
    right = std::uniform_int_distribution<size_t>(0, 3)(rng);
    options.insert(options.begin() + static_cast<std::ptrdiff_t>(right), label);
    return options;
}

ClassQuestion class_question(QuestionKind kind, int64_t label, const std::vector<std::string>& classes, std::mt19937_64& rng,
                             int phrasing) {
    const int64_t n = static_cast<int64_t>(classes.size());
    if (label < 0 || label >= n) throw Error("questions", "label " + std::to_string(label) + " outside the classes");
    if ((kind == QuestionKind::YesNo && n < 2) || (kind == QuestionKind::Choice && n < 4))
        throw Error("questions", "too few classes for " + std::string(question_kind_name(kind)) + " questions");
    ClassQuestion q;
    q.kind = kind;
    q.label = label;
    const std::string& name = classes[label];
    switch (kind) {
        case QuestionKind::Open: {
            q.question = pick(kOpen, rng, phrasing);
            // Half the drawn questions ask for the short form, as LLaVA's evaluation prompts do.
            const bool short_form = phrasing < 0 && std::uniform_int_distribution<int>(0, 1)(rng) == 1;
            if (short_form) q.question += kShort;
            q.answer = short_form ? capitalised(name) : capitalised(with_article(name)) + ".";
            break;
        }
        case QuestionKind::YesNo: {
            q.yes = phrasing >= 0 ? phrasing % 2 == 0 : std::uniform_int_distribution<int>(0, 1)(rng) == 1;
            int64_t asked = label;
            if (!q.yes) asked = (label + std::uniform_int_distribution<int64_t>(1, n - 1)(rng)) % n;
            q.question = "Is there " + with_article(classes[asked]) + " in the image?";
            q.answer = q.yes ? "Yes." : "No.";
            break;
        }
        case QuestionKind::Choice: {
            size_t right = 0;
            const std::vector<int64_t> options = choice_options(label, n, rng, right);
            q.question = "Which item is in the image?";
            for (size_t i = 0; i < 4; ++i) q.question += "\n" + std::string(1, kLetters[i]) + ". " + capitalised(classes[options[i]]);
            q.question += "\nAnswer with the option's letter from the given choices directly.";
            q.letter = std::string(1, kLetters[right]);
            q.answer = q.letter;
            break;
        }
        case QuestionKind::Caption:
            q.question = pick(kCaption, rng, phrasing);
            q.answer = "A black and white photo of " + with_article(name) + ".";
            break;
    }
    return q;
}

}  // namespace ps
