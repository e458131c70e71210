// The median of a benchmark's repeat timings (the figure every benchmark reports).
#pragma once
#include <vector>

namespace ps {

double median(std::vector<double> v);  // 0 for an empty vector

}  // namespace ps
