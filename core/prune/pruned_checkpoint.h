// Writes a pruned model as a checkpoint folder: the source's config, tokenizer and processor files,
// model.safetensors with every tensor under its original name (pruned Linears dense with their
// zeros), masks.safetensors beside it (one uint8 mask per pruned Linear, 1 = pruned, for recovery
// that keeps the masks fixed), the Plan and result.json. Atomic: all or nothing.
#pragma once
#include <string>

#include "core/job/plan.h"
#include "core/model/vlm.h"
#include "core/prune/pipeline.h"

namespace ps {

void write_pruned_checkpoint(const Vlm& model, const Plan& plan, const PruneResult& result, const std::string& dir);

}  // namespace ps
