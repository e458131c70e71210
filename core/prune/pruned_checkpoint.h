// Writes a pruned model as a checkpoint folder: the source's config, tokenizer and processor files,
// model.safetensors with every tensor under its original name, dtype and shape (pruned Linears
// dense with their zeros), masks.safetensors beside it (one uint8 mask per pruned Linear, 1 =
// pruned, for recovery that keeps the masks fixed), the Plan and result.json. Atomic: all or
// nothing. The files are laid out up front and filled as pruned Linears arrive, so a streaming run
// writes each block as it is pruned (PrunedCheckpointWriter as prune_model's sink) while a
// resident run exports its in-memory result afterwards (write_pruned_checkpoint); both give the
// same bytes.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/io/atomic_dir.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors_writer.h"
#include "core/model/vlm.h"
#include "core/prune/pipeline.h"

namespace ps {

class PrunedCheckpointWriter : public PrunedSink {
public:
    // Starts `dir` (it must not exist; it is built under a temporary name beside it) from `source`:
    // copies its side files and lays out model.safetensors. Throws ps::Error naming the folder.
    // `plan` is the run's whole Plan (its method and pattern label the masks; written as plan.json).
    PrunedCheckpointWriter(const Checkpoint& source, nlohmann::json plan, const std::string& dir);
    ~PrunedCheckpointWriter() override;  // without commit() nothing is left behind

    // Lays out masks.safetensors for these Linears (each needs "<linear>.weight" in the source).
    void begin(const std::vector<std::string>& linears) override;
    // Writes one pruned Linear's weight (converted to the source's dtype) and its mask.
    void add(const std::string& linear, const at::Tensor& weight, const at::Tensor& mask) override;
    // Writes a tensor other than the source's under its name (a recovered projector's weight).
    void replace(const std::string& tensor, const at::Tensor& value);
    // Copies every tensor that was not pruned from the source, checks every begun Linear was
    // added, writes plan.json and result.json, and renames the folder into place.
    void commit(const PruneResult& result);
    void commit_json(const nlohmann::json& result);  // result.json as given (a recovery's report)

private:
    Checkpoint source_;
    nlohmann::json plan_;
    AtomicDir dir_;  // declared first: removed last, after the writers have closed their files
    std::unique_ptr<SafetensorsWriter> model_, masks_;
};

// Exports a pruned model that holds its pruned weights as overrides and its masks in `result`
// (prune_model without a sink).
void write_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const PruneResult& result, const std::string& dir);

}  // namespace ps
