// The Plan's "tokens" section: run-time token pruning, in effect whenever the pruned model is evaluated.
// Either a registered method (token_method.h) at one keep ratio, or blocks and a metric given by hand.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct TokenOptions {
    // A registered method ("": the hand-given form below) and the share of image tokens it keeps
    // (staged methods: after their last drop; VisionZip: dominant and contextual together).
    std::string method;
    double keep = 1.0;
    uint64_t seed = 0;        // random
    int layer = -1;           // fastv: the language layer (default 2); cls, received, cim: the vision block (default 0)
    int pivots = 8;           // dart
    double contextual = 0.15625;  // visionzip: the share of kept tokens that are contextual (VisionZip's 10 of 64)
    int stages = 4;           // pyramiddrop: the language model split into this many stages of equal depth

    std::string metric = "cls";    // importance: cls | received | text (image tokens in the language sequence: last prompt token -> image tokens) | cim
    std::map<int, double> vision;  // vision block -> keep ratio of the patch tokens after it ([CLS] stays)
    int language_after = -1;       // language block after which tokens are dropped; -1: none
    double language_keep = 1.0;    // of the image tokens where the language sequence holds them; dual encoders: of the text tokens but [CLS]
    bool empty() const;            // nothing dropped

    static TokenOptions read(const JsonFields& f);  // throws ps::Error naming the field
    nlohmann::json to_json() const;
};

}  // namespace ps
