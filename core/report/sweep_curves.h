// The charts of a sweep that `prunestudio-cli sweep` writes and the report embeds: its score (the
// sweep's task metric) vs sparsity, one line per method and pattern with the dense score dashed
// (curves.png), and the Pareto view of the score vs what is left of the parameters or FLOPs
// (pareto.png), and for token methods the score vs the image tokens the language model meets or the
// prefill time (tokens.png, tokens_time.png). Percentages span 0-100; other scores (NLL) the data's range.
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

// One line per token method over its keep ratios, each starting at the dense point: (image tokens
// per prompt, or prefill ms per prompt; score). An empty Mat when no point has a token method (or,
// for image tokens, the model has none in a language model).
enum class TokenCost { ImageTokens, PrefillTime };
cv::Mat render_token_curves(const SweepResult& sweep, TokenCost cost, const std::string& title);

}  // namespace ps
