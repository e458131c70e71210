// What a front end may offer: every pruning method and allocation a Plan can name — the registered
// ones, built-ins and plugins — with each method's options, in plain types, without torch.
#pragma once
#include <string>
#include <vector>

namespace ps {

struct CatalogOption {
    std::string name;
    std::string kind;  // type, range and default, e.g. "number in (0, 1), default 0.01"
    std::string help;
};

struct CatalogEntry {
    std::string id;       // what a Plan names
    std::string display;  // e.g. "Wanda"
    std::string description;
    std::string origin;       // "built-in", or the plugin's file
    bool structured = false;  // width / depth / comp: pattern "structured", whole towers
    std::string section;      // the Plan key of its options
    std::vector<CatalogOption> options;
};

std::vector<CatalogEntry> method_catalog();      // registered methods, in registration order
std::vector<CatalogEntry> allocation_catalog();  // registered allocators

}  // namespace ps
