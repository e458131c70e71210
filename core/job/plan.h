// A Plan is the recipe of a pruning run, as JSON: which model on which device, the calibration
// data, the method and pattern, the target sparsity and how it is allocated across modalities and
// tensors, which tensors are targeted (regular expressions over tensor names, as llm-compressor
// recipes write them). The same Plan gives the same result from the GUI, the CLI and a test.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

struct Plan {
    std::string name;   // shown in the GUI's preset list, e.g. "Wanda 50% equal V/L"
    std::string model;  // checkpoint folder; empty in presets, chosen when the Plan is run
    std::string device = "cpu", dtype = "float32";
    bool streaming = false;
    uint64_t seed = 0;

    struct Calibration {
        std::string data = "fashion-mnist";  // or a folder with captions.jsonl
        int64_t samples = 128;
        int64_t batch_size = 32;
    } calibration;

    std::string method = "wanda";         // magnitude | wanda | sparsegpt (+ registered plugins) | width | depth
    std::string pattern = "unstructured";  // unstructured | N:M | structured (methods width and depth)
    double sparsity = 0.5;                 // the overall target; width: fraction of heads and MLP channels
                                           // removed per block; depth: fraction of a tower's blocks dropped
    std::string compare = "auto";          // row | matrix | auto (magnitude: matrix; others: matrix in vision towers, row elsewhere)

    struct Allocation {
        std::string kind = "uniform";  // a registered allocator: uniform | modality | ecoflap | ecoflap-first-order | owl | ...
        std::map<std::string, double> modality;  // vision / projector / language -> sparsity (kind modality)
        double epsilon = 1e-3, extra = 0.1;       // ecoflap: perturbation size, s_max = s + extra
        double owl_m = 5, owl_lambda = 0.08;      // owl: outlier threshold M, sparsity spread s ± λ
    } allocation;

    std::vector<std::string> targets = {".*"};  // tensor-name regexes (ECMAScript) of Linears to prune
    std::vector<std::string> ignore;            // regexes excluded from the targets
    std::map<std::string, double> overrides;    // tensor name -> sparsity, wins over the allocation

    struct Structured {  // methods width and depth
        std::string score = "taylor";        // width: taylor (|W·∂L/∂W| per group) | activation (group output norm)
        bool heads = true, channels = true;  // width: remove attention heads (GQA groups) / MLP channels
    } structured;

    int64_t sparsegpt_blocksize = 128;
    double sparsegpt_percdamp = 0.01;

    nlohmann::json to_json() const;
    // Checks every field: an unknown key, a wrong type or a value out of range throws ps::Error
    // naming `source` and the field, e.g. "plan.json: sparsity: 1.2 is outside [0, 1)".
    static Plan from_json(const nlohmann::json& j, const std::string& source);
    static Plan load(const std::string& path);
    void save(const std::string& path) const;  // atomically
};

}  // namespace ps
