#include "core/prune/dsnot.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/prune/magnitude.h"
#include "core/prune/wanda.h"

namespace ps {

namespace {

// Per row, the columns where `candidate` holds, ascending by `key` (ties: lower column first), at
// the front of its row of `order` [rows, cols]; `count` [rows] is how many there are.
struct RowLists {
    at::Tensor order, count;
    const int64_t* row(int64_t i) const { return order.data_ptr<int64_t>() + i * order.size(1); }
    int64_t size(int64_t i) const { return count.data_ptr<int64_t>()[i]; }
};
RowLists sorted_candidates(const at::Tensor& key, const at::Tensor& candidate) {
    const at::Tensor masked = key.masked_fill(candidate.logical_not(), std::numeric_limits<double>::infinity());
    return {std::get<1>(masked.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false)).contiguous(),
            candidate.sum(1).to(at::kLong).contiguous()};
}

void check_column_stat(const at::Tensor& t, int64_t columns, const char* what, const std::string& name) {
    if (!t.defined() || t.dim() != 1 || t.size(0) != columns)
        throw Error(name, std::string("DSnoT's input ") + what + " of shape " + (t.defined() ? shape_string(t) : "undefined") +
                              " do not match the weight's " + std::to_string(columns) + " input columns");
}

}  // namespace

at::Tensor dsnot_mask(const at::Tensor& weight, const ColumnStatistics& stats, double sparsity, const SparsityPattern& pattern,
                      CompareGroup group, const DsnotOptions& o, const std::string& name) {
    if (!weight.defined() || weight.dim() != 2)
        throw Error(name, "weight must be 2-d [out, in], got shape " + (weight.defined() ? shape_string(weight) : std::string("undefined")));
    if (o.initial != "wanda" && o.initial != "magnitude")
        throw Error(name, "DSnoT's initial mask is \"wanda\" or \"magnitude\", not \"" + o.initial + "\"");
    if (o.cycles < 0 || !(o.threshold >= 0) || !(o.variance_power >= 0))
        throw Error(name, "DSnoT's cycles, threshold and variance power must not be negative");
    const int64_t rows = weight.size(0), cols = weight.size(1);
    at::NoGradGuard no_grad;
    const at::Tensor importance = o.initial == "wanda" ? wanda_scores(weight, stats.sq_norms, name) : magnitude_scores(weight, name);
    const at::Tensor initial = select_pruned(importance, sparsity, pattern, group, name).to(at::kCPU).contiguous();
    if (o.cycles == 0) return initial.to(weight.device());
    check_column_stat(stats.sums, cols, "sums", name);
    check_column_stat(stats.variances, cols, "variances", name);

    // The contributions c = W·m and the growing scores c / v^p, in float64 on the CPU.
    const at::Tensor c = (weight.detach().to(at::kCPU, at::kDouble) * stats.sums.to(at::kCPU, at::kDouble).unsqueeze(0)).contiguous();
    const at::Tensor spread = stats.variances.to(at::kCPU, at::kDouble).clamp_min(1e-12).pow(o.variance_power);
    const at::Tensor imp = importance.to(at::kCPU, at::kDouble).contiguous();
    const at::Tensor kept = initial.logical_not();
    const RowLists grow = sorted_candidates(c / spread.unsqueeze(0), initial);
    RowLists negative, positive;
    if (!pattern.is_nm()) {
        negative = sorted_candidates(imp, kept.logical_and(c < 0));
        positive = sorted_candidates(imp, kept.logical_and(c > 0));
    }

    at::Tensor mask = initial.clone();
    bool* pruned = mask.data_ptr<bool>();
    const double* contribution = c.data_ptr<double>();
    const double* score = imp.data_ptr<double>();
    const int64_t m = pattern.m;
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
        std::vector<char> prunable(static_cast<size_t>(pattern.is_nm() ? cols : 0));
        for (int64_t i = begin; i < end; ++i) {
            bool* row = pruned + i * cols;
            const double* ci = contribution + i * cols;
            double eps = 0;
            for (int64_t j = 0; j < cols; ++j)
                if (row[j]) eps += ci[j];
            const int64_t* grown = grow.row(i);
            int64_t lo = 0, hi = grow.size(i) - 1;
            if (pattern.is_nm()) {
                for (int64_t j = 0; j < cols; ++j) prunable[j] = !row[j];
                const bool positive_start = eps > 0;
                for (int64_t t = 0; t < o.cycles && std::abs(eps) > o.threshold && lo <= hi; ++t) {
                    const int64_t r = eps > 0 ? grown[hi--] : grown[lo++];
                    const int64_t start = r - r % m;
                    int64_t q = -1;
                    for (int64_t j = start; j < start + m; ++j)
                        if (prunable[j] && (q < 0 || score[i * cols + j] < score[i * cols + q])) q = j;
                    if (q < 0) break;
                    const double after = (eps + ci[q]) - ci[r];
                    if ((after > 0) != positive_start || after == 0) break;  // the sign would change
                    row[r] = false;
                    row[q] = true;
                    prunable[q] = 0;
                    eps = after;
                }
                continue;
            }
            const int64_t *neg = negative.row(i), *pos = positive.row(i);
            const int64_t neg_count = negative.size(i), pos_count = positive.size(i);
            int64_t next_neg = 0, next_pos = 0;
            for (int64_t t = 0; t < o.cycles && std::abs(eps) > o.threshold && lo <= hi; ++t) {
                int64_t r, q;
                if (eps > 0) {
                    if (next_neg == neg_count) break;
                    r = grown[hi--];
                    q = neg[next_neg++];
                } else {
                    if (next_pos == pos_count) break;
                    r = grown[lo++];
                    q = pos[next_pos++];
                }
                row[r] = false;
                row[q] = true;
                eps = (eps + ci[q]) - ci[r];
            }
        }
    });
    return mask.to(weight.device());
}

}  // namespace ps
