// MME's scoring of yes/no questions asked in pairs about one image (its eval_tool/calculation.py):
// how an answer is read, and a subtask's acc and acc+.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

// "yes", "no" or "other": the answer in lower case when it is exactly yes or no, else "yes" when
// its first four characters hold "yes", "no" when they hold "no", else "other" (never right).
std::string mme_answer(const std::string& answer);

struct MmeQuestion {
    std::string image;  // the questions of one image share it
    bool right = false;
};

struct MmeScore {
    double acc = 0;       // right questions / questions, × 100
    double acc_plus = 0;  // images with every question right / images, × 100
    double score() const { return acc + acc_plus; }
    nlohmann::json to_json() const;
};

MmeScore mme_score(const std::vector<MmeQuestion>& questions);

}  // namespace ps
