// RIA, Relative Importance and Activations (Zhang et al., "Plug-and-Play: An Efficient Post-training
// Pruning Method for Large Language Models", ICLR 2024), as a plugin pruning method:
//   score_ij = (|W_ij| / Σ_j' |W_ij'| + |W_ij| / Σ_i' |W_i'j|) · ‖X_j‖₂^a,
// the relative importance of a weight within its output row and its input column, scaled by the
// input activation norm (from the column-norm statistics, Wanda's a_j = ‖X_j‖² per sample). The
// exponent a is the option "exponent" of the Plan's "ria" section (the paper's 0.5 by default; 0
// drops the activations). The lowest scores go per output row (or N:M), as the paper prunes.
#include <limits>

#include <ATen/ATen.h>

#include "core/prune/plugin_api.h"

namespace {

constexpr double kDefaultExponent = 0.5;  // a, as the paper sets it

at::Tensor ria_scores(const ps::LayerInput& in) {
    if (!in.column_sq_norms.defined() || in.column_sq_norms.numel() != in.weight.size(1))
        throw ps::Error(in.name, "RIA needs the input column norms of the calibration data");
    const at::Tensor w = in.weight.detach().to(at::kFloat).abs();
    // A zero row or column sum has only zero weights: their relative importance is 0, not 0/0.
    const at::Tensor in_row = w / w.sum(1, true).clamp_min(std::numeric_limits<float>::min());
    const at::Tensor in_column = w / w.sum(0, true).clamp_min(std::numeric_limits<float>::min());
    const double exponent = in.options.at("exponent").get<double>();
    const at::Tensor activation = in.column_sq_norms.detach().to(w.device(), at::kFloat).sqrt().pow(exponent);
    return (in_row + in_column) * activation.unsqueeze(0);
}

}  // namespace

extern "C" const int prunestudio_plugin_abi = ps::kPluginAbi;

extern "C" void prunestudio_register_plugin(ps::PluginHost& host) {
    ps::PruneMethod ria;
    ria.id = "ria";
    ria.display = "RIA (Relative Importance and Activations)";
    ria.description = "|W| relative to its row and its column, times ‖X_j‖^a (Zhang et al., ICLR 2024)";
    ria.needs_column_norms = true;
    ria.auto_compare = ps::CompareGroup::Row;
    ria.scores = ria_scores;
    ria.options = {ps::MethodOption::number("exponent", kDefaultExponent, 0.0, 4.0,
                                            "a: the power of the input activation norm ‖X_j‖ (0: relative importance alone)")};
    host.add_method(std::move(ria));
}
