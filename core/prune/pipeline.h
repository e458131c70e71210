// The layer-by-layer pruning pipeline: calibration inputs are carried through the model tower by
// tower and block by block; at each block the Linears to prune are tapped while the calibration
// batches run, pruned from those statistics (magnitude, Wanda, SparseGPT), and the block is run
// again with its pruned weights to give the next block its inputs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/prune_memory.h"
#include "core/prune/prune_options.h"

namespace ps {

struct TensorResult {
    std::string name;  // the Linear
    std::string modality;
    int block = -1;
    double target = 0, achieved = 0;  // sparsity
    int64_t nnz = 0, numel = 0;
    // ||W X - W' X|| / ||W X|| over the calibration inputs (InputRowSample: every row, or every k-th
    // row of a calibration set larger than 256 rows); unset when pruned without calibration data
    std::optional<double> relative_error;
    double seconds = 0;
};

struct PruneResult {
    std::string method, pattern;
    std::vector<TensorResult> tensors;
    std::map<std::string, at::Tensor> masks;  // Linear name -> bool mask, true = pruned
    double seconds = 0;

    // Per modality and in total: pruned parameters over the targeted ones ("sparsity") and the
    // parameter-weighted target ("target").
    nlohmann::json to_json() const;
    std::string to_text() const;
};

// Where a run that must not keep the pruned model in memory sends it, block by block
// (PrunedCheckpointWriter writes it straight into the output checkpoint).
class PrunedSink {
public:
    virtual ~PrunedSink() = default;
    // Once, before the first block: every Linear the run will prune.
    virtual void begin(const std::vector<std::string>& linears) = 0;
    // Each pruned Linear as soon as it is pruned: the weight (the model's device and dtype) and the
    // bool mask (true = pruned).
    virtual void add(const std::string& linear, const at::Tensor& weight, const at::Tensor& mask) = 0;
};

// One pruning run of the layer-by-layer pipeline: the algorithm, with its memory policy given apart
// (PruneMemory: pooled temporaries and heap trimming, on by default). run() prunes `model` as
// `plan` says, with the sparsities of `allocation`; see prune_model().
class Pruner {
public:
    Pruner(Vlm& model, const PruneOptions& plan, const SparsityMap& allocation, const std::vector<VlmInputs>& calibration,
           PruneMemory memory = {})
        : model_(model), plan_(plan), allocation_(allocation), calibration_(calibration), memory_(memory) {}
    PruneResult run(const JobControl& job, PrunedSink* sink = nullptr) const;

private:
    Vlm& model_;
    const PruneOptions& plan_;
    const SparsityMap& allocation_;
    const std::vector<VlmInputs>& calibration_;
    PruneMemory memory_;
};

// Prunes `model` as `plan` says, with the sparsities of `allocation` (a Pruner with the default
// memory policy). Without a sink the model
// keeps the pruned weights (its WeightStore gets them as overrides) and the result every mask, so
// the pruned model can be evaluated before it is exported. With a sink, each pruned weight and mask
// goes to the sink as it is made; the mask is then dropped, the weight once its block has run again
// with it: the model keeps its own weights, result.masks stays empty, and at most one block's pruned
// weights are held at a time (how a streaming model is pruned within one block's memory). Progress per block; a
// cancelled or failed run restores every weight it changed, so the model is as before. A method that
// reads no inputs (magnitude) may be given no calibration: each Linear is then pruned from its
// weights alone, and no reconstruction error is measured.
PruneResult prune_model(Vlm& model, const PruneOptions& plan, const SparsityMap& allocation,
                        const std::vector<VlmInputs>& calibration, const JobControl& job, PrunedSink* sink = nullptr);

}  // namespace ps
