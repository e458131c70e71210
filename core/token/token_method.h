// The token-reduction methods, one registry in plain types: what each is called, where in the model
// it acts, which attention maps it reads (an attention-free method keeps fused attention in every
// block), whether it merges tokens, and the options it takes. A Plan's tokens.method names one.
#pragma once
#include <string>
#include <vector>

namespace ps {

enum class TokenStage {
    Vision,          // in the vision tower, after a block (before the projector)
    BeforeLanguage,  // on each image's projected features, before the language model's first layer
    Language,        // inside the language model, after one or more of its layers
};

struct TokenMethod {
    std::string name, display;
    TokenStage stage;
    std::string attention;  // the attention maps it reads: "none", "vision" (one block), "language" (a row per drop)
    bool merges = false;    // keeps merged tokens besides the kept ones
    std::vector<std::string> options;  // the tokens-section fields it reads besides method and keep
    std::string rule;       // one line
};

// Every registered method, the baseline first.
const std::vector<TokenMethod>& token_methods();
// nullptr when `name` is not registered.
const TokenMethod* find_token_method(const std::string& name);
// "random, fastervlm, ..." for error messages.
std::string token_method_names();

}  // namespace ps
