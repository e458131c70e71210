// The charts of a sweep that `prunestudio-cli sweep` writes and the report embeds: its score (the
// sweep's task metric) vs sparsity, one line per method and pattern with the dense score dashed
// (curves.png), and the Pareto view of the score vs what is left of the parameters or FLOPs
// (pareto.png). Percentages span 0-100; other scores (NLL) the data's range.
#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/eval/sweep_result.h"

namespace ps {

// RGB CV_8UC3; an empty Mat when no point lies on a curve (grid and sensitivity points do not).
cv::Mat render_sweep_curves(const SweepResult& sweep, const std::string& title);

// Every point as a marker at (nonzero parameters or FLOPs per sample, % of dense; score) with
// the Pareto front joined. An empty Mat when there are no points.
cv::Mat render_pareto(const SweepResult& sweep, ParetoCost cost, const std::string& title);

}  // namespace ps
