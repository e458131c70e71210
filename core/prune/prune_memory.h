// How a pruning run holds its memory, apart from the algorithm (core/prune/pipeline): the pipeline
// says where its repeated temporaries begin and end and where a stage has freed what it made; the
// policy decides what that costs. Pooling needs ScratchPool's allocator hook, which whoever runs the
// pruning installs (ScratchPool::install(), done by the runs in core/job); without it a scope pools nothing.
#pragma once
#include <optional>

#include "core/prune/scratch_pool.h"

namespace ps {

class PruneMemory {
public:
    struct Policy {
        bool pool = true;  // large temporaries of repeated sizes from ScratchPool's mappings
        bool trim = true;  // the C heap's freed pages given back to the system after a stage
    };

    PruneMemory() = default;
    explicit PruneMemory(Policy policy) : policy_(policy) {}

    // A scope over repeated temporaries (ScratchPool::Keep); none when pooling is off.
    std::optional<ScratchPool::Scope> scope(ScratchPool::Keep keep = ScratchPool::Keep::All) const {
        if (!policy_.pool) return std::nullopt;
        return std::optional<ScratchPool::Scope>(std::in_place, keep);
    }
    // After a stage freed many activation-sized temporaries, which would otherwise stay resident
    // next to the pruned block.
    void release_freed() const;

private:
    Policy policy_;
};

}  // namespace ps
