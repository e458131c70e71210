#include "core/model/model_map.h"

#include <algorithm>
#include <regex>
#include <set>

#include "core/ends_with.h"
#include "core/error.h"
#include "core/io/checkpoint.h"

namespace ps {
namespace {

std::vector<std::string> split_path(const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == '.') {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    return parts;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_embedding(const std::string& module) {
    for (const std::string& p : split_path(module)) {
        if (p.find("embed") != std::string::npos) return true;
        if (p == "shared" || p == "wte" || p == "wpe" || p == "relative_attention_bias") return true;
    }
    return false;
}

bool is_float(DType t) {
    return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64 || t == DType::F8_E4M3 ||
           t == DType::F8_E5M2;
}

// Canonical role of a Linear from its module path (see the table in the README).
std::string role_of(const std::string& module) {
    const auto parts = split_path(module);
    const std::string& leaf = parts.back();
    const std::string parent = parts.size() > 1 ? parts[parts.size() - 2] : "";
    std::string role;
    if (leaf == "q_proj" || leaf == "q" || leaf == "query") role = "q";
    else if (leaf == "k_proj" || leaf == "k" || leaf == "key") role = "k";
    else if (leaf == "v_proj" || leaf == "v" || leaf == "value") role = "v";
    else if (leaf == "o_proj" || leaf == "out_proj" || leaf == "o" || (leaf == "projection_layer" && parent == "attention")) role = "o";
    else if (leaf == "qkv") role = "qkv";
    else if ((leaf == "proj" || leaf == "projection") && parent.find("attn") != std::string::npos) role = "o";
    else if (leaf == "dense") {
        if (ends_with(module, "attention.output.dense")) role = "o";
        else if (parent == "intermediate" || parent == "intermediate_query") role = "fc1";
        else if (parent == "output" || parent == "output_query") role = "fc2";
        else if (parent == "pooler") role = "pooler";
        else role = "dense";
    } else if (leaf == "linear_fc1") role = "fc1";
    else if (leaf == "linear_fc2") role = "fc2";
    else if (leaf == "gate_proj" || leaf == "wi_0") role = "gate";
    else if (leaf == "up_proj" || leaf == "wi_1" || leaf == "wi") role = "up";
    else if (leaf == "down_proj" || leaf == "wo") role = "down";
    else if (leaf == "linear_1") role = "proj_1";
    else if (leaf == "linear_2") role = "proj_2";
    else if (leaf == "lm_head") role = "lm_head";
    else if (ends_with(leaf, "projection") || leaf == "proj") role = "proj";
    else if (!leaf.empty() && std::all_of(leaf.begin(), leaf.end(), is_digit)) role = parent + "." + leaf;
    else role = leaf;
    if (module.find("EncDecAttention") != std::string::npos || module.find("crossattention") != std::string::npos ||
        module.find("cross_attn") != std::string::npos)
        role = "cross_" + role;
    return role;
}

// Block index and block path: the first ".layers.N." / ".layer.N." / ".blocks.N." / ".block.N.".
void block_of(const std::string& module, int& block, std::string& group) {
    static const std::regex re("(^|.*?\\.)(layers|layer|blocks|block|h)\\.(\\d+)(\\.|$)");
    std::smatch m;
    block = -1;
    group.clear();
    if (std::regex_search(module, m, re) && m.position(0) == 0) {
        block = std::stoi(m[3].str());
        group = m[1].str() + m[2].str() + "." + m[3].str();
    }
}

// Orders names so that "layers.10" comes after "layers.9".
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            size_t i2 = i, j2 = j;
            while (i2 < a.size() && is_digit(a[i2])) ++i2;
            while (j2 < b.size() && is_digit(b[j2])) ++j2;
            std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = i2;
            j = j2;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

}  // namespace

bool widens_mlp(const std::string& role) { return role == "fc1" || role == "gate" || role == "up"; }
bool narrows_mlp(const std::string& role) { return role == "fc2" || role == "down"; }

ModelMap map_model(const Checkpoint& ckpt) {
    const std::string type = ckpt.model_type();
    if (type.empty()) throw Error(ckpt.config_path(), "no \"model_type\" field");
    const FamilySpec* fam = find_family(type);
    if (!fam) {
        std::string known;
        for (const auto& t : known_model_types()) known += (known.empty() ? "" : ", ") + t;
        throw Error(ckpt.config_path(), "unknown model_type \"" + type + "\" (supported: " + known + ")");
    }
    std::vector<std::pair<std::regex, Modality>> prefixes;
    for (const auto& p : fam->prefixes) prefixes.emplace_back(std::regex(p.regex), p.modality);

    ModelMap map;
    map.dir = ckpt.dir();
    map.model_type = type;
    map.family = fam->id;
    map.family_display = fam->display;
    map.num_shards = static_cast<int>(ckpt.shards().size());
    map.num_tensors = static_cast<int>(ckpt.names().size());
    map.file_bytes = ckpt.total_bytes();
    std::set<std::string> dtypes;

    for (const std::string& name : ckpt.names()) {
        const TensorInfo& t = *ckpt.at(name).info;
        dtypes.insert(dtype_name(t.dtype));
        const uint64_t numel = t.numel();
        map.total_params += numel;
        const bool is_weight = ends_with(name, ".weight");
        const std::string module = is_weight ? name.substr(0, name.size() - 7) : name;

        Modality mod = Modality::Other;
        for (const auto& [re, m] : prefixes)
            if (std::regex_search(name, re, std::regex_constants::match_continuous)) {
                mod = m;
                break;
            }
        const std::string owner = name.substr(0, name.rfind('.') == std::string::npos ? 0 : name.rfind('.'));
        if (!owner.empty() && split_path(owner).back() == "lm_head") mod = Modality::Other;
        ModalityTotals& tot = map.totals[static_cast<int>(mod)];
        tot.params += numel;
        tot.tensors += 1;

        if (!is_weight || t.shape.size() != 2 || !is_float(t.dtype) || is_embedding(module)) continue;
        LinearLayer l;
        l.name = module;
        l.modality = mod;
        l.role = role_of(module);
        block_of(module, l.block, l.group);
        l.out_features = t.shape[0];
        l.in_features = t.shape[1];
        l.dtype = t.dtype;
        l.has_bias = ckpt.find(module + ".bias") != nullptr;
        l.prunable = l.role != "lm_head" && l.role != "pooler" &&
                     ((l.block >= 0 && mod != Modality::Other) || mod == Modality::Projector);
        tot.linears += 1;
        tot.linear_params += l.params();
        if (l.prunable) tot.prunable_params += l.params();
        map.linears.push_back(std::move(l));
    }
    if (fam->unused) {  // blocks the checkpoint holds but the model never runs
        std::array<std::set<int>, kNumModalities> blocks;
        for (const LinearLayer& l : map.linears)
            if (l.block >= 0) blocks[static_cast<int>(l.modality)].insert(l.block);
        for (LinearLayer& l : map.linears) {
            l.unused = fam->unused(ckpt.config(), l, static_cast<int>(blocks[static_cast<int>(l.modality)].size()));
            if (l.unused.empty() || !l.prunable) continue;
            l.prunable = false;
            map.totals[static_cast<int>(l.modality)].prunable_params -= l.params();
        }
    }
    map.runnable = fam->factory != nullptr;
    map.capabilities = fam->capabilities;
    map.dtypes.assign(dtypes.begin(), dtypes.end());
    std::stable_sort(map.linears.begin(), map.linears.end(),
                     [](const LinearLayer& a, const LinearLayer& b) {
                         if (a.modality != b.modality) return a.modality < b.modality;
                         return natural_less(a.name, b.name);
                     });
    return map;
}

std::vector<UnusedBlock> unused_blocks(const ModelMap& map) {
    std::vector<UnusedBlock> out;
    for (const LinearLayer& l : map.linears) {
        if (l.unused.empty()) continue;
        if (out.empty() || out.back().group != l.group) out.push_back({l.modality, l.block, l.group, 0, l.unused});
        out.back().linears += 1;
    }
    return out;
}

ModelMap inspect_checkpoint(const std::string& dir) { return map_model(Checkpoint::open(dir)); }

}  // namespace ps
