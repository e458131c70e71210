#include "core/prune/catalog.h"

#include "core/prune/registry.h"

namespace ps {

std::vector<CatalogEntry> method_catalog() {
    std::vector<CatalogEntry> out;
    for (const PruneMethod& m : registered_methods()) out.push_back({m.id, m.display, m.description, m.origin, false});
    out.push_back({"width", "Width (LLM-Pruner-style)",
                   "attention groups and MLP channels removed per block by Taylor or activation scores", kBuiltInOrigin, true});
    out.push_back({"depth", "Depth (ShortGPT)", "the blocks of least Block Influence dropped", kBuiltInOrigin, true});
    out.push_back({"comp", "Joint (CoMP-style)", "heads, MLP channels and tokens pruned together to a FLOPs target",
                   kBuiltInOrigin, true});
    return out;
}

std::vector<CatalogEntry> allocation_catalog() {
    std::vector<CatalogEntry> out;
    for (const Allocator& a : registered_allocators()) out.push_back({a.id, a.display, a.description, a.origin, false});
    return out;
}

}  // namespace ps
