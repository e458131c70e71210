#include "bench/largest_block.h"

#include <map>
#include <regex>

namespace ps {

std::pair<std::string, uint64_t> largest_block(const Checkpoint& ckpt) {
    static const std::regex re("^(.*\\.layers\\.\\d+)\\.");
    std::map<std::string, uint64_t> blocks;
    std::smatch m;
    for (const std::string& name : ckpt.names())
        if (std::regex_search(name, m, re)) blocks[m[1].str()] += ckpt.at(name).info->nbytes();
    std::pair<std::string, uint64_t> best{"", 0};
    for (const auto& b : blocks)
        if (b.second > best.second) best = b;
    return best;
}

}  // namespace ps
