// POPE's scoring of yes/no answers (LLaVA's eval_pope.py): the rule that reads a generated answer
// as yes or no, and the metrics over a set of them with "yes" the positive class.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

// The answer's first sentence (up to its first '.'), commas removed, split at single spaces: "no"
// when a word is exactly "No", "no" or "not", else "yes" ("No, there is not." → no; "Nope." → yes).
bool pope_says_yes(const std::string& answer);

struct YesNoMetrics {
    int64_t tp = 0, fp = 0, tn = 0, fn = 0;
    // Precision, recall and F1 are 0 where their denominator is (eval_pope.py would divide by it).
    double accuracy = 0, precision = 0, recall = 0, f1 = 0, yes_ratio = 0;

    nlohmann::json to_json() const;
};

// said_yes[i]: the model's answer read as yes; truth[i]: the reference is yes. Equal sizes.
YesNoMetrics yes_no_metrics(const std::vector<bool>& said_yes, const std::vector<bool>& truth);

}  // namespace ps
