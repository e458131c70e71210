// The Plan's "tokens" section: run-time token pruning, in effect whenever the pruned model is evaluated.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct TokenOptions {
    std::string metric = "cls";    // importance: cls | received | text (image tokens in the language sequence: last prompt token -> image tokens) | cim
    std::map<int, double> vision;  // vision block -> keep ratio of the patch tokens after it ([CLS] stays)
    int language_after = -1;       // language block after which tokens are dropped; -1: none
    double language_keep = 1.0;    // of the image tokens where the language sequence holds them; dual encoders: of the text tokens but [CLS]
    bool empty() const;            // nothing dropped

    static TokenOptions read(const JsonFields& f);  // throws ps::Error naming the field
    nlohmann::json to_json() const;
};

}  // namespace ps
