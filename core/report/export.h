// Export of a run folder (a pruned, width/depth-pruned, jointly pruned or recovered checkpoint as
// PruneStudio writes it) as a Hugging Face checkpoint that transformers loads: every tensor under
// its original name in one model.safetensors (optionally cast to bfloat16 / float16) whose
// __metadata__ records the method and pattern, config.json and the tokenizer / processor files
// copied, the masks as prunestudio_masks.safetensors, and the run's Plan and Result JSON. Written
// as a temporary folder renamed into place: a failure, a full disk or a cancel leaves no folder.
#pragma once
#include <cstdint>
#include <string>

#include "core/job_control.h"

namespace ps {

struct ExportOptions {
    std::string dtype;   // "" (keep each tensor's), "bfloat16" or "float16" (floating tensors only)
    bool force = false;  // replace an existing `out` (only once the new folder is complete)
};

struct ExportSummary {
    int64_t tensors = 0;
    uint64_t bytes = 0;  // of model.safetensors
    std::string method, pattern;
    bool masks = false;
};

// Throws ps::Error naming the folder or file: `out` exists without `force`, `run_dir` is not a
// checkpoint, an unknown dtype. Progress per tensor; cancel between tensors.
ExportSummary export_checkpoint(const std::string& run_dir, const std::string& out, const ExportOptions& opt,
                                const JobControl& job);

}  // namespace ps
