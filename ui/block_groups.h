// The prunable Linears of a model grouped the way the charts draw them: vision blocks, the
// projector as one group, then language blocks; and the parameter-weighted sparsity of a group.
#pragma once
#include <QString>
#include <map>
#include <string>
#include <vector>

#include "core/model/model_map.h"

namespace ps {

struct BlockGroup {
    Modality modality;
    QString label;  // tick label: "V0", "P", "L3"
    QString path;   // block path, or "projector"
    std::vector<const LinearLayer*> linears;  // pointers into the ModelMap it was grouped from
};

std::vector<BlockGroup> blockGroups(const ModelMap& map);

// Parameter-weighted mean of `values` ({Linear: sparsity}) over the group's Linears that have a
// value; -1 when none has.
double weightedSparsity(const BlockGroup& group, const std::map<std::string, double>& values);

}  // namespace ps
