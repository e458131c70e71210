#include "ui/block_groups.h"

#include <algorithm>

namespace ps {

std::vector<BlockGroup> blockGroups(const ModelMap& map) {
    std::vector<BlockGroup> groups;
    for (Modality m : {Modality::Vision, Modality::Projector, Modality::Language})
        for (const LinearLayer& l : map.linears) {
            if (l.modality != m || !l.prunable) continue;
            if (m != Modality::Projector && l.block < 0) continue;
            const QString path = m == Modality::Projector ? QString("projector") : QString::fromStdString(l.group);
            auto it = std::find_if(groups.begin(), groups.end(), [&](const BlockGroup& g) { return g.path == path; });
            if (it == groups.end()) {
                const QString label = m == Modality::Projector ? QString("P") : QString("%1%2").arg(m == Modality::Vision ? 'V' : 'L').arg(l.block);
                groups.push_back({m, label, path, {}});
                it = groups.end() - 1;
            }
            it->linears.push_back(&l);
        }
    return groups;
}

double weightedSparsity(const BlockGroup& group, const std::map<std::string, double>& values) {
    double sum = 0, params = 0;
    for (const LinearLayer* l : group.linears) {
        const auto it = values.find(l->name);
        if (it == values.end()) continue;
        sum += it->second * static_cast<double>(l->params());
        params += static_cast<double>(l->params());
    }
    return params > 0 ? sum / params : -1;
}

}  // namespace ps
