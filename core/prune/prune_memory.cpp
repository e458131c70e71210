#include "core/prune/prune_memory.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ps {

void PruneMemory::release_freed() const {
#ifdef __GLIBC__
    if (policy_.trim) malloc_trim(0);
#endif
}

}  // namespace ps
