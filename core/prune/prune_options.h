// The pruning part of a Plan, as the pruning module reads and validates it: the method and its
// pattern, the target sparsity and how it is allocated, which Linears are targeted (regular
// expressions over tensor names, as llm-compressor recipes write them), and each method's own
// section. In the Plan file these are top-level keys.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps {

class JsonFields;

struct AllocationOptions {
    std::string kind = "uniform";  // a registered allocator: uniform | modality | ecoflap | ecoflap-first-order | owl | sensitivity | ...
    std::map<std::string, double> modality;  // vision / projector / language -> sparsity (kind modality)
    double epsilon = 1e-3, extra = 0.1;       // ecoflap: perturbation size, s_max = s + extra
    double owl_m = 5, owl_lambda = 0.08;      // owl: outlier threshold M, sparsity spread s ± λ
    std::string sensitivity;                  // sensitivity: sweep.json of `prunestudio-cli sweep --sensitivity`
    double sensitivity_lambda = 0.1;          // sensitivity: sparsity spread s ± λ

    static AllocationOptions read(const JsonFields& f);  // throws ps::Error naming the field
    nlohmann::json to_json() const;
};

// Method width's section "structured".
struct StructuredOptions {
    std::string score = "taylor";        // taylor (|W·∂L/∂W| per group) | activation (group output norm)
    bool heads = true, channels = true;  // remove attention heads (GQA groups) / MLP channels

    static StructuredOptions from_section(const nlohmann::json& section);  // a section read_method_section() checked
    nlohmann::json to_json() const;
};

// Method comp's section "joint": CoMP-style joint pruning of parameters (attention heads, MLP
// channels) and tokens, one mode per stage chosen by cost per FLOP removed (core/prune/joint_pruning).
struct JointOptions {
    double flops_reduction = 0.5;  // target fraction of the block FLOPs removed
    double step = 0.05;            // fraction of the dense FLOPs one stage removes
    // Exploration probability (CoMP uses 0.2 with finetuning between stages; one-shot pruning has no
    // training to recover from a bad draw, so the default is greedy), its softmax temperature, and
    // the weight of a mode's earlier cost.
    double rho = 0.0, tau = 5, lambda0 = 0.4;
    int64_t i_max = 5;                         // stages after which a mode's old cost is forgotten
    int vision_after = 0, language_after = 0;  // blocks after which the token modes drop tokens
    // How the token modes drop tokens: "comp" (CoMP's CIT after vision_after and language_after), or a
    // registered token method (core/token/token_method.h) whose keep ratio the token mode of its
    // tokens sets (the vision-tokens mode for a vision-tower method on a dual encoder, else the
    // language-tokens mode: a generative model's image tokens).
    std::string token_method = "comp";
    // Modes the scheduler may choose from: vision-params, language-params, vision-tokens, language-tokens.
    std::vector<std::string> modes = {"vision-params", "language-params", "vision-tokens", "language-tokens"};

    static JointOptions from_section(const nlohmann::json& section);
    nlohmann::json to_json() const;
};

struct PruneOptions {
    std::string method = "wanda";         // a registered method: magnitude | wanda | sparsegpt | width | depth | comp | plugins'
    std::string pattern = "unstructured";  // unstructured | N:M | structured (methods that remove whole structures)
    double sparsity = 0.5;                 // the overall target; width: fraction of heads and MLP channels
                                           // removed per block; depth: fraction of a tower's blocks dropped
    std::string compare = "auto";          // row | matrix | auto (the method's choice)
    // What each Linear of a block is calibrated on. "block": the block as it was, every Linear's
    // inputs from one pass of the block before any of its Linears is pruned (the published
    // algorithms; the block then runs again, pruned, to feed the next). "linear": the inputs that
    // went through the block's Linears pruned before it (SparseGPT's "true sequential" order), in one
    // pass over the block; it holds every batch's activations inside the block at once, so a
    // streamed model is refused.
    std::string sequential = "block";
    uint64_t seed = 0;                     // every random draw of a run (calibration samples, ECoFLaP noise, CoMP exploration)
    AllocationOptions allocation;
    std::vector<std::string> targets = {".*"};  // tensor-name regexes (ECMAScript) of Linears to prune
    std::vector<std::string> ignore;            // regexes excluded from the targets
    std::map<std::string, double> overrides;    // tensor name -> sparsity, wins over the allocation
    StructuredOptions structured;               // method width
    JointOptions joint;                         // method comp
    // The other methods' sections as the Plan gives them (checked), by section name, e.g. "sparsegpt", "ria".
    std::map<std::string, nlohmann::json> sections;

    // Whether the method removes whole structures (width, depth, comp) instead of masking weights.
    bool removes_structures() const;
    // The method's section of options, every declared option present (defaults for what the Plan leaves out).
    nlohmann::json method_options(const std::string& method_id) const;

    // Reads the pruning keys of the Plan's top-level object `top`; throws ps::Error naming the field.
    static PruneOptions read(const JsonFields& top);
    // The top-level keys read() takes: the fixed ones and every registered method's section.
    static std::set<std::string> keys();
    static const std::set<std::string>& fixed_keys();
    // Writes the pruning keys into the Plan's top-level object.
    void write(nlohmann::json& top) const;
};

}  // namespace ps
