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

    std::string method = "wanda";         // magnitude | wanda | sparsegpt (+ registered plugins) | width | depth | comp
    std::string pattern = "unstructured";  // unstructured | N:M | structured (methods width and depth)
    double sparsity = 0.5;                 // the overall target; width: fraction of heads and MLP channels
                                           // removed per block; depth: fraction of a tower's blocks dropped
    std::string compare = "auto";          // row | matrix | auto (magnitude: matrix; others: matrix in vision towers, row elsewhere)

    struct Allocation {
        std::string kind = "uniform";  // a registered allocator: uniform | modality | ecoflap | ecoflap-first-order | owl | sensitivity | ...
        std::map<std::string, double> modality;  // vision / projector / language -> sparsity (kind modality)
        double epsilon = 1e-3, extra = 0.1;       // ecoflap: perturbation size, s_max = s + extra
        double owl_m = 5, owl_lambda = 0.08;      // owl: outlier threshold M, sparsity spread s ± λ
        std::string sensitivity;                  // sensitivity: sweep.json of `prunestudio-cli sweep --sensitivity`
        double sensitivity_lambda = 0.1;          // sensitivity: sparsity spread s ± λ
    } allocation;

    std::vector<std::string> targets = {".*"};  // tensor-name regexes (ECMAScript) of Linears to prune
    std::vector<std::string> ignore;            // regexes excluded from the targets
    std::map<std::string, double> overrides;    // tensor name -> sparsity, wins over the allocation

    struct Structured {  // methods width and depth
        std::string score = "taylor";        // width: taylor (|W·∂L/∂W| per group) | activation (group output norm)
        bool heads = true, channels = true;  // width: remove attention heads (GQA groups) / MLP channels
    } structured;

    // Recovery after pruning (`prunestudio-cli recover`): adapters or weights trained on a fraction
    // of the data with the task loss and distillation from the dense model.
    struct Recovery {
        std::string pruned;               // pruned checkpoint folder (with masks.safetensors); empty: prune by this Plan first
        std::string mode = "sparselora";  // sparselora | lora (plain, unmasked) | full (fixed mask) | projector
        std::map<std::string, int64_t> rank = {{"vision", 4}, {"language", 8}};  // per modality (projector 0); 0: no adapters
        double alpha = 16, dropout = 0.05;
        double task = 1.0, kl = 0.1, temperature = 1.0;  // loss weights; KL(teacher ‖ student) at temperature T
        bool t2 = false;                                 // scale the KL term by T²
        double hidden = 0.0;                             // weight of the hidden-state MSE
        std::vector<std::string> hidden_layers;          // "<tower>.<block>", e.g. "vision.3"; empty: every tower's last block
        double data_fraction = 0.05;                     // of the training data
        int64_t epochs = 1, batch_size = 64, grad_accum = 1;
        int64_t max_steps = -1;                          // stop early (the schedule still spans every epoch)
        double lr = 1e-3, min_lr = 0.0, weight_decay = 0.0;
        int64_t warmup = 0;
        int64_t eval_every = 0, eval_samples = 1000;     // zero-shot accuracy on test images every k steps (0: at the end only)
        int64_t checkpoint_every = 50;                   // steps between resumable state writes
    } recovery;

    // Run-time token pruning (core/token): in effect whenever the pruned model is evaluated.
    struct Tokens {
        std::string metric = "cls";    // importance: cls | received | text (LLaVA: last prompt token -> image tokens) | cim
        std::map<int, double> vision;  // vision block -> keep ratio of the patch tokens after it ([CLS] stays)
        int language_after = -1;       // language block after which tokens are dropped; -1: none
        double language_keep = 1.0;    // LLaVA: of the image tokens; dual encoders: of the text tokens but [CLS]
        bool empty() const;            // nothing dropped
    } tokens;

    // Method "comp": CoMP-style joint pruning of parameters (attention heads, MLP channels) and
    // tokens, one mode per stage chosen by cost per FLOP removed (core/token/joint_pruning).
    struct Joint {
        double flops_reduction = 0.5;              // target fraction of the block FLOPs removed
        double step = 0.05;                        // fraction of the dense FLOPs one stage removes
        // Exploration probability (CoMP uses 0.2 with finetuning between stages; one-shot pruning
        // has no training to recover from a bad draw, so the default is greedy), its softmax
        // temperature, and the weight of a mode's earlier cost.
        double rho = 0.0, tau = 5, lambda0 = 0.4;
        int64_t i_max = 5;                         // stages after which a mode's old cost is forgotten
        int vision_after = 0, language_after = 0;  // blocks after which the token modes drop tokens
        // Modes the scheduler may choose from: vision-params, language-params, vision-tokens, language-tokens.
        std::vector<std::string> modes = {"vision-params", "language-params", "vision-tokens", "language-tokens"};
    } joint;

    int64_t sparsegpt_blocksize = 128;
    double sparsegpt_percdamp = 0.01;

    // Methods width, depth and comp remove whole structures (pattern "structured") instead of masking.
    bool removes_structures() const { return method == "width" || method == "depth" || method == "comp"; }

    nlohmann::json to_json() const;
    // Checks every field: an unknown key, a wrong type or a value out of range throws ps::Error
    // naming `source` and the field, e.g. "plan.json: sparsity: 1.2 is outside [0, 1)".
    static Plan from_json(const nlohmann::json& j, const std::string& source);
    static Plan load(const std::string& path);
    void save(const std::string& path) const;  // atomically
};

}  // namespace ps
