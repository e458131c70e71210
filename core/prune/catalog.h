// What a front end may offer: every pruning method and allocation a Plan can name — the registered
// ones (built-ins and plugins) and the structured methods — in plain types, without torch.
#pragma once
#include <string>
#include <vector>

namespace ps {

struct CatalogEntry {
    std::string id;       // what a Plan names
    std::string display;  // e.g. "Wanda"
    std::string description;
    std::string origin;  // "built-in", or the plugin's file
    bool structured = false;  // width / depth / comp: pattern "structured", whole towers
};

std::vector<CatalogEntry> method_catalog();     // registered methods, then width, depth, comp
std::vector<CatalogEntry> allocation_catalog();  // registered allocators

}  // namespace ps
