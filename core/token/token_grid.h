// The importance of one image's tokens as a grid over the image, in plain types so that the GUI,
// the CLI and reports can hold and draw it without torch.
#pragma once
#include <cstdint>
#include <vector>

namespace ps {

struct TokenGrid {
    int rows = 0, cols = 0;
    std::vector<float> scores;     // rows·cols, row-major in patch order; higher = more important
    std::vector<uint8_t> dropped;  // rows·cols: 1 where token pruning drops the token; empty: none marked
};

// Marks the tokens run-time pruning at keep ratio `keep` drops: all but the kept_tokens(rows·cols,
// keep) highest scores. keep >= 1 clears the marks.
void mark_dropped(TokenGrid& g, double keep);

}  // namespace ps
