// Wanda's input statistic a_j for chosen Linears from one pass of the calibration batches through
// the model as it is (Vlm::forward under the WeightStore's linear tap): what the allocations and
// scores that look at the dense model's activations (OWL's outlier ratios, structured scores) need.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/wanda.h"

namespace ps {

// One accumulator per Linear of `linears` (module names, e.g. "...mlp.fc1"), filled from every
// batch; progress as `stage`, one step per batch. The tap is removed afterwards, also on errors.
// Throws ps::Error for a name that is not a Linear of the model, or empty calibration.
std::map<std::string, ColumnNormAccumulator> input_column_norms(Vlm& model, const std::vector<std::string>& linears,
                                                                const std::vector<VlmInputs>& calibration,
                                                                const JobControl& job, const std::string& stage);

}  // namespace ps
