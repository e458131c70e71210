#include "core/data/prompts.h"

#include "core/error.h"

namespace ps {

const std::vector<std::string>& zero_shot_templates() {
    static const std::vector<std::string> templates{
        "a photo of a {}.",
        "a photo of the {}.",
        "a black and white photo of a {}.",
        "a low resolution photo of a {}.",
        "a product photo of a {}.",
        "a photo of a piece of clothing: a {}.",
    };
    return templates;
}

std::vector<std::string> class_prompts(const std::vector<std::string>& classes, const std::vector<std::string>& templates) {
    for (const std::string& t : templates)
        if (t.find("{}") == std::string::npos) throw Error("prompt template '" + t + "'", "has no {} placeholder");
    std::vector<std::string> out;
    out.reserve(classes.size() * templates.size());
    for (const std::string& c : classes)
        for (const std::string& t : templates) {
            std::string p;
            size_t from = 0;
            for (size_t at = t.find("{}"); at != std::string::npos; from = at + 2, at = t.find("{}", from))
                p.append(t, from, at - from).append(c);
            out.push_back(p.append(t, from, std::string::npos));
        }
    return out;
}

}  // namespace ps
