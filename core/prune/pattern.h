// The shape a pruning mask must take (unstructured, or N:M within groups of input columns) and the
// checks every pruner runs on its pattern and target sparsity before doing any work.
#pragma once
#include <cstdint>
#include <string>

namespace ps {

// The sparsity pattern of a weight matrix's mask: unstructured, or N:M (in every row, each group of
// M consecutive input columns has exactly N pruned entries).
struct SparsityPattern {
    int n = 0, m = 0;  // 0:0 = unstructured
    bool is_nm() const { return m > 0; }
    std::string name() const;  // "unstructured" or "2:4"
    // "unstructured" | "N:M" with 1 <= N < M; throws ps::Error(where, ...) for anything else.
    static SparsityPattern parse(const std::string& s, const std::string& where = "sparsity pattern");
};

// Throws ps::Error(tensor, ...) when the pattern cannot apply to a [rows, cols] matrix: an invalid
// N:M (N < 1 or N >= M), or M not dividing cols.
void check_pattern(const SparsityPattern& p, int64_t cols, const std::string& tensor);
// Throws ps::Error(where, ...) unless 0 <= sparsity < 1.
void check_sparsity(double sparsity, const std::string& where);

}  // namespace ps
