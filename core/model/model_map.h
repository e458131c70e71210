// What a checkpoint is made of, read from names and shapes alone (no weights touched): the family,
// every Linear with its modality, block and role, and parameter totals per modality. This is what
// `inspect`, the layer tree and the allocation charts show.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/dtype.h"
#include "core/model/family.h"

namespace ps {

class Checkpoint;

struct LinearLayer {
    std::string name;   // module path, e.g. "model.language_model.layers.3.mlp.up_proj"
    std::string group;  // block path, e.g. "model.language_model.layers.3"; "" outside blocks
    Modality modality = Modality::Other;
    int block = -1;     // index inside its tower, -1 outside the repeated blocks
    std::string role;   // q, k, v, o, qkv, fc1, fc2, gate, up, down, proj, lm_head, ...
    int64_t out_features = 0;
    int64_t in_features = 0;
    DType dtype = DType::F32;
    bool has_bias = false;
    bool prunable = false;  // weights inside blocks and projector linears; never heads, poolers or unused ones
    std::string unused;     // why the model never runs it (LLaVA's vision blocks past vision_feature_layer); empty: it does
    uint64_t params() const { return static_cast<uint64_t>(out_features) * static_cast<uint64_t>(in_features); }
};

// The MLP's Linears by role: those that widen to the intermediate size (fc1, gate, up) and the one
// that narrows back (fc2, down).
bool widens_mlp(const std::string& role);
bool narrows_mlp(const std::string& role);

struct ModalityTotals {
    uint64_t params = 0;           // every tensor under the modality's prefixes
    uint64_t linear_params = 0;    // weights of its Linear layers
    uint64_t prunable_params = 0;  // weights of its prunable Linear layers
    int tensors = 0;
    int linears = 0;
};

struct ModelMap {
    std::string dir;
    std::string model_type;
    std::string family;          // FamilySpec::id
    std::string family_display;  // FamilySpec::display
    bool runnable = false;       // core runs (and so prunes) this family; otherwise it can only be inspected
    Capabilities capabilities;   // what the family's model can do (FamilySpec::capabilities)
    int num_shards = 0;
    int num_tensors = 0;
    uint64_t file_bytes = 0;
    uint64_t total_params = 0;
    std::vector<std::string> dtypes;  // distinct tensor dtypes, sorted
    std::array<ModalityTotals, kNumModalities> totals{};
    std::vector<LinearLayer> linears;  // by modality, then by name with block numbers in numeric order

    const ModalityTotals& of(Modality m) const { return totals[static_cast<int>(m)]; }
};

// The blocks a checkpoint holds but the model never runs, each once, in map order: they are not
// pruned and not counted in what a run targets.
struct UnusedBlock {
    Modality modality;
    int block = -1;
    std::string group;  // block path
    int linears = 0;
    std::string why;
};
std::vector<UnusedBlock> unused_blocks(const ModelMap& map);

// Classifies an open checkpoint; throws ps::Error naming config.json for an unknown model_type.
ModelMap map_model(const Checkpoint& ckpt);
// Opens `dir` and classifies it.
ModelMap inspect_checkpoint(const std::string& dir);

}  // namespace ps
