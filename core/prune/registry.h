// The pruning methods and sparsity allocators a Plan can name, registered by id: the built-ins
// (magnitude, Wanda, SparseGPT, and width, depth and CoMP, which remove whole structures; uniform,
// modality, ECoFLaP zeroth- and first-order, OWL, sensitivity) and whatever plugins add at start-up
// (core/prune/plugins.h). A method declares its options; the run, the Plan's validation and the
// front ends look everything up here instead of knowing it by name.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/mask.h"
#include "core/prune/method_options.h"
#include "core/prune/pattern.h"
#include "core/prune/prune_options.h"
#include "core/prune/sparsegpt.h"

namespace ps {

inline constexpr char kBuiltInOrigin[] = "built-in";

// What a method gets for one Linear.
struct LayerInput {
    std::string name;            // the Linear, for error messages
    std::string role;            // its role in its block (ModelMap: q, k, v, o, fc1, gate, ...)
    at::Tensor weight;           // [out, in] on the model's device, in the model's dtype
    at::Tensor column_sq_norms;  // [in] Wanda's a_j (ColumnNormAccumulator); defined when the method needs it
    at::Tensor column_sums;      // [in] sums of x_j per sample and variances of x_j over the tokens (the same
    at::Tensor column_vars;      // accumulator), defined with column_sq_norms
    at::Tensor gram;             // [in, in] H = (2/n) Σ x xᵀ (HessianAccumulator); defined when the method needs it
    bool gram_writable = false;  // gram is this call's alone (no later Linear reads it): it may be overwritten
    double sparsity = 0;         // this Linear's target (ignored for N:M)
    SparsityPattern pattern;
    CompareGroup group = CompareGroup::Row;
    nlohmann::json options;      // the method's section of the Plan, every declared option present
};

// Per-entry importance, [out, in] floating point, lower = pruned first. The pipeline calls a
// method's functions for several Linears at once, from different threads: they must not share
// mutable state between calls.
using ScoreFunction = std::function<at::Tensor(const LayerInput&)>;
// The whole step for one Linear: the pruned weight (same shape) and its bool mask, true = pruned.
using PruneFunction = std::function<PruneOutcome(const LayerInput&)>;

// What a method that removes whole structures gets: the run's model, options and calibration
// batches, and the folder it writes its pruned checkpoint to (atomically, with `plan` as plan.json).
struct StructuralRun {
    Vlm& model;
    const PruneOptions& options;
    const std::vector<VlmInputs>& calibration;
    const nlohmann::json& plan;  // the whole Plan
    std::string out_dir;
    const JobControl& job;
};
struct StructuralOutcome {
    nlohmann::json result;  // what result.json holds
    std::string text;       // the result for people
};
using StructuralFunction = std::function<StructuralOutcome(const StructuralRun&)>;

struct PruneMethod {
    std::string id;           // what a Plan's "method" names, e.g. "wanda"
    std::string display;      // e.g. "Wanda"
    std::string description;  // one line
    bool needs_column_norms = false;  // LayerInput::column_sq_norms
    bool needs_gram = false;          // LayerInput::gram
    // What the Plan's compare "auto" means for this method; unset: the whole matrix in vision towers
    // and each output row elsewhere (RESSA / ECoFLaP's Wanda).
    std::optional<CompareGroup> auto_compare;
    // Give one of three: scores (the registry selects the lowest with select_pruned() and zeroes
    // them), prune (methods that also change the weights they keep, as SparseGPT does), or remove
    // (methods of pattern "structured" that remove heads, channels, blocks or tokens and write their
    // own checkpoint).
    ScoreFunction scores;
    PruneFunction prune;
    std::string origin;  // kBuiltInOrigin when registered empty; a plugin's file for plugins
    // Its options, read from the Plan's top-level key `section` (empty: the method's id).
    std::vector<MethodOption> options;
    std::string section;
    // Checks between options after each was checked alone (comp: step <= flops_reduction); throws
    // through `where`, which names the section.
    std::function<void(const nlohmann::json& values, const JsonFields& where)> check_options;
    StructuralFunction remove;

    const std::string& section_key() const { return section.empty() ? id : section; }
};

// Gives a SparsityMap for a Plan: `start` is allocate()'s map (the targets, each at the Plan's
// uniform or per-modality sparsity); the result has the same keys.
using AllocateFunction = std::function<SparsityMap(Vlm& model, const PruneOptions& plan, const SparsityMap& start,
                                                   const std::vector<VlmInputs>& calibration, const JobControl& job)>;

struct Allocator {
    std::string id;  // what a Plan's "allocation.kind" names, e.g. "owl"
    std::string display;
    std::string description;  // one line
    AllocateFunction allocate;
    std::string origin;            // as PruneMethod::origin
    bool uses_calibration = true;  // reads the calibration batches (uniform and per-modality do not)
};

// Registers a method / allocator. Throws ps::Error for an empty or already registered id, a
// method without exactly one of scores / prune / remove, a section another method reads, an
// option whose default fails its own check, or an allocator without a function. After
// registration a masking method's prune is always set, and checks what it returns (shapes, bool mask).
void register_method(PruneMethod method);
void register_allocator(Allocator allocator);

// Every registered one, in registration order (built-ins first); methods that remove whole
// structures after the others.
std::vector<PruneMethod> registered_methods();
std::vector<Allocator> registered_allocators();

// nullptr when no method / allocator has that id.
const PruneMethod* find_method(const std::string& id);
const Allocator* find_allocator(const std::string& id);
// As find_*, throwing ps::Error("pruning method" / "allocation", "\"x\" is not registered (known: ...)").
const PruneMethod& method_by_id(const std::string& id);
const Allocator& allocator_by_id(const std::string& id);
// The Plan's allocation step: allocate()'s start map, then the Plan's allocator on `calibration`.
SparsityMap plan_allocation(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job);
// The method reading the Plan section `key`; nullptr when none does.
const PruneMethod* method_of_section(const std::string& key);

// The registered ids, comma-separated, for messages.
std::string method_ids();
std::string allocator_ids();

// The comparison group of one Linear: the Plan's compare ("row", "matrix", or "auto": the
// method's auto_compare, else the whole matrix in vision towers and each row elsewhere).
CompareGroup compare_group_for(const PruneMethod& method, const std::string& compare, Modality modality);

}  // namespace ps
