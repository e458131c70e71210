#include "core/prune/catalog.h"

#include "core/prune/registry.h"

namespace ps {

std::vector<CatalogEntry> method_catalog() {
    std::vector<CatalogEntry> out;
    for (const PruneMethod& m : registered_methods()) {
        CatalogEntry e{m.id, m.display, m.description, m.origin, static_cast<bool>(m.remove), m.section_key(), {}};
        for (const MethodOption& o : m.options) e.options.push_back({o.name, o.describe(), o.help});
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<CatalogEntry> allocation_catalog() {
    std::vector<CatalogEntry> out;
    for (const Allocator& a : registered_allocators()) out.push_back({a.id, a.display, a.description, a.origin, false, "", {}});
    return out;
}

}  // namespace ps
