#include "core/token/token_grid.h"

#include <algorithm>
#include <numeric>

#include "core/token/token_pruning.h"

namespace ps {

void mark_dropped(TokenGrid& g, double keep) {
    g.dropped.clear();
    if (keep >= 1.0 || g.scores.empty()) return;
    const int64_t n = static_cast<int64_t>(g.scores.size());
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return g.scores[a] > g.scores[b]; });
    g.dropped.assign(n, 1);
    for (int64_t i = 0; i < kept_tokens(n, keep); ++i) g.dropped[order[i]] = 0;
}

}  // namespace ps
