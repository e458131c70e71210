// The accuracy-vs-sparsity chart of a sweep, one line per method and pattern with the dense
// accuracy dashed: what `prunestudio-cli sweep` writes as curves.png and the report embeds.
#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/eval/sweep.h"

namespace ps {

// RGB CV_8UC3; an empty Mat when no point lies on a curve (grid and sensitivity points do not).
cv::Mat render_sweep_curves(const std::vector<SweepPoint>& points, double dense_accuracy, const std::string& title);

}  // namespace ps
