#include "core/token/token_method.h"

namespace ps {

const std::vector<TokenMethod>& token_methods() {
    static const std::vector<TokenMethod> methods = {
        {"random", "Random", TokenStage::BeforeLanguage, "none", false, {"seed"},
         "a seeded random subset of each image's tokens, before the language model"},
        {"fastervlm", "FasterVLM", TokenStage::Vision, "vision", false, {},
         "the patches with the most [CLS] attention at the vision tower's feature block, dropped before the projector"},
        {"visionzip", "VisionZip", TokenStage::Vision, "vision", true, {"contextual"},
         "dominant patches by [CLS] (or received) attention at the feature block, plus contextual tokens merging the rest by "
         "similarity"},
        {"dart", "DART", TokenStage::BeforeLanguage, "none", false, {"pivots"},
         "the largest-norm pivot tokens and the tokens least duplicated (cosine) relative to them"},
        {"divprune", "DivPrune", TokenStage::BeforeLanguage, "none", false, {},
         "greedy max-min diversity over the tokens' cosine distances"},
        {"fastv", "FastV", TokenStage::Language, "language", false, {"layer"},
         "after language layer K, the image tokens the last prompt token attends to least leave"},
        {"pyramiddrop", "PyramidDrop", TokenStage::Language, "language", false, {"stages"},
         "at the end of each language-model stage a fixed ratio of image tokens leaves, ranked by the last instruction token"},
        {"cls", "[CLS] attention", TokenStage::Vision, "vision", false, {"layer"},
         "after vision block K, the patches with the least [CLS] attention leave"},
        {"received", "Attention received", TokenStage::Vision, "vision", false, {"layer"},
         "after vision block K, the patches receiving the least attention leave"},
        {"cim", "CoMP CIT", TokenStage::Vision, "vision", false, {"layer"},
         "after vision block K, tokens by CoMP's collaborative importance with pruned heads masked out"},
    };
    return methods;
}

const TokenMethod* find_token_method(const std::string& name) {
    for (const TokenMethod& m : token_methods())
        if (m.name == name) return &m;
    return nullptr;
}

std::string token_method_names() {
    std::string out;
    for (const TokenMethod& m : token_methods()) out += (out.empty() ? "" : ", ") + m.name;
    return out;
}

}  // namespace ps
