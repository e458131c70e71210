#include "core/token/flops.h"

#include <cmath>

#include "core/error.h"

namespace ps {

nlohmann::json FlopsCount::to_json() const {
    nlohmann::json blocks_json = nlohmann::json::array();
    for (const BlockFlops& b : blocks)
        blocks_json.push_back(
            {{"tower", b.tower}, {"block", b.block}, {"tokens", b.tokens}, {"linear", b.linear}, {"attention", b.attention}});
    return {{"linear", linear}, {"attention", attention}, {"total", total()}, {"blocks", blocks_json}};
}

std::vector<BlockCost> block_costs(const Vlm& model) {
    std::vector<BlockCost> out;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        const Modality m = model.towers()[t].modality;
        for (int i = 0; i < model.towers()[t].num_blocks; ++i) {
            BlockCost c;
            c.tower = t;
            c.block = i;
            double width = 0;
            for (const LinearLayer& l : model.map().linears) {
                if (l.modality != m || l.block != i) continue;
                const at::Tensor live = model.weights().get(l.name + ".weight").ne(0);
                const double rows = static_cast<double>(live.any(1).sum().item<int64_t>());
                const double cols = static_cast<double>(live.any(0).sum().item<int64_t>());
                c.per_token += 2.0 * rows * cols;
                if (l.role == "q") width += rows;
                if (l.role == "qkv") width += rows / 3.0;
            }
            c.per_token2 = 2.0 * 2.0 * width;
            out.push_back(c);
        }
    }
    return out;
}

FlopsCount block_flops(const std::vector<BlockCost>& costs, const std::vector<std::vector<int64_t>>& tokens) {
    FlopsCount out;
    for (const BlockCost& c : costs) {
        if (c.tower >= static_cast<int>(tokens.size()) || c.block >= static_cast<int>(tokens[c.tower].size()))
            throw Error("flops", "no token count for block " + std::to_string(c.block) + " of tower " + std::to_string(c.tower));
        BlockFlops b;
        b.tower = c.tower;
        b.block = c.block;
        b.tokens = tokens[c.tower][c.block];
        const double n = static_cast<double>(b.tokens);
        b.linear = c.per_token * n;
        b.attention = c.per_token2 * n * n;
        out.linear += b.linear;
        out.attention += b.attention;
        out.blocks.push_back(b);
    }
    return out;
}

FlopsCount block_flops(const Vlm& model, const std::vector<std::vector<int64_t>>& tokens) {
    return block_flops(block_costs(model), tokens);
}

SampleTokens sample_tokens(const Vlm& model, const VlmInputs& batch) {
    const int vision = tower_index(model, Modality::Vision), language = tower_index(model, Modality::Language);
    SampleTokens n;
    std::vector<StageState> done;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        StageState s = model.embed(t, batch, done);
        if (t == vision && s.hidden.defined()) n.vision = s.hidden.size(1);
        if (t == language) {
            n.language = batch.attention_mask.defined()
                             ? std::llround(batch.attention_mask.to(at::kDouble).sum(1).mean().item<double>())
                             : s.hidden.size(1);
            if (s.image_slots.defined()) n.image = s.image_slots.sum(1).max().item<int64_t>();
        }
        for (int i = 0; i < model.towers()[t].num_blocks; ++i) model.block(t, i, s);
        model.finish(t, s);
        done.push_back(std::move(s));
    }
    return n;
}

std::vector<std::vector<int64_t>> token_counts(const Vlm& model, const TokenPruning& p, int64_t vision_tokens,
                                               int64_t language_tokens, int64_t image_tokens) {
    std::vector<std::vector<int64_t>> out(model.towers().size());
    const bool in_language = model.capabilities().image_tokens_in_language;
    const int64_t group = model.capabilities().vision_token_group;
    const bool follows = model.capabilities().image_tokens_follow_vision;
    int64_t images = image_tokens;  // left after the vision tower: its groups leave the prompt with it
    for (size_t t = 0; t < out.size(); ++t) {
        const TowerInfo& tower = model.towers()[t];
        const bool vision = tower.modality == Modality::Vision;
        if (!vision && in_language && p.select != TokenSelect::None && images > 0) images = kept_tokens(images, p.select_keep);
        int64_t n = vision ? vision_tokens : language_tokens - (image_tokens - images);
        for (int i = 0; i < tower.num_blocks; ++i) {
            out[t].push_back(n);
            if (vision) {
                auto it = p.vision.find(i);
                if (it == p.vision.end() || it->second >= 1.0) continue;
                if (group > 0) {
                    n = kept_tokens(n / group, it->second) * group;
                    images = n / group;
                } else {
                    const int64_t cls = model.capabilities().vision_cls ? 1 : 0, patches = n - cls, kept = kept_tokens(patches, it->second);
                    if (follows && images > 0) {  // each view's image tokens (its patches, or with [CLS]) shorten with them
                        const int64_t per_view = images % patches == 0 ? patches : n;
                        images = images / per_view * (per_view - (patches - kept));
                    }
                    n = cls + kept;
                }
                continue;
            }
            auto it = p.language.find(i);
            if (it == p.language.end() || it->second >= 1.0) continue;
            if (!in_language) {
                n = 1 + kept_tokens(n - 1, it->second);  // every token but [CLS]
            } else if (images > 0) {
                const int64_t kept = kept_tokens(images, it->second);
                n -= images - kept;
                images = kept;
            }
        }
    }
    return out;
}

double equivalent_image_tokens(const std::vector<int64_t>& language_counts, int64_t text_tokens) {
    if (language_counts.empty()) return 0;
    double sum = 0;
    for (int64_t n : language_counts) sum += static_cast<double>(n - text_tokens);
    return sum / static_cast<double>(language_counts.size());
}

}  // namespace ps
