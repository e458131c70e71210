// Deterministic, seeded subsets of a training set: the calibration examples pruning scores are
// computed from, and a disjoint subset for recovery training.
#pragma once
#include <cstdint>
#include <vector>

namespace ps {

struct DataSplits {
    std::vector<int64_t> calibration;  // indices into the training set
    std::vector<int64_t> recovery;     // recovery-training subset, disjoint from calibration
};

// A permutation of [0, train_size) drawn by at::randperm from a CPU generator seeded with `seed`
// (the same seed gives the same splits); calibration is its first `calibration` entries, recovery
// the next `recovery`. Throws ps::Error for a negative count or calibration + recovery > train_size.
DataSplits make_splits(int64_t train_size, uint64_t seed, int64_t calibration = 128, int64_t recovery = 10000);

}  // namespace ps
