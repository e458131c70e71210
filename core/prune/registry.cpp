#include "core/prune/registry.h"

#include <deque>
#include <mutex>

#include "core/error.h"
#include "core/io/json_fields.h"
#include "core/io/tensor_view.h"
#include "core/prune/alps.h"
#include "core/prune/depth.h"
#include "core/prune/dsnot.h"
#include "core/prune/ecoflap.h"
#include "core/prune/ecoflap_first_order.h"
#include "core/prune/joint_pruning.h"
#include "core/prune/magnitude.h"
#include "core/prune/mask.h"
#include "core/prune/owl.h"
#include "core/prune/sensitivity_allocation.h"
#include "core/prune/wanda.h"
#include "core/prune/width.h"

namespace ps {
namespace {

// A score method's step: the lowest scores of the comparison group (or N:M) pruned, nothing else changed.
PruneFunction select_by_scores(ScoreFunction scores, std::string id) {
    return [scores = std::move(scores), id = std::move(id)](const LayerInput& in) {
        at::Tensor s = scores(in);
        if (!s.defined() || s.sizes() != in.weight.sizes())
            throw Error(in.name, "method \"" + id + "\" gave scores of shape " +
                                     (s.defined() ? shape_string(s) : std::string("undefined")) + " for a weight of shape " +
                                     shape_string(in.weight));
        const at::Tensor mask = select_pruned(s, in.sparsity, in.pattern, in.group, in.name).to(in.weight.device());
        s.reset();  // not held beside the pruned copy
        return PruneOutcome{apply_mask(in.weight, mask), mask};
    };
}

// A prune method's step, checked: a weight shaped like the input and a bool mask of the same shape.
PruneFunction checked(PruneFunction prune, std::string id) {
    return [prune = std::move(prune), id = std::move(id)](const LayerInput& in) {
        PruneOutcome out = prune(in);
        const auto describe = [](const at::Tensor& t) { return t.defined() ? shape_string(t) : std::string("undefined"); };
        if (!out.weight.defined() || out.weight.sizes() != in.weight.sizes())
            throw Error(in.name, "method \"" + id + "\" returned a weight of shape " + describe(out.weight) + " for " +
                                     shape_string(in.weight));
        if (!out.mask.defined() || out.mask.scalar_type() != at::kBool || out.mask.sizes() != in.weight.sizes())
            throw Error(in.name, "method \"" + id + "\" returned a mask of shape " + describe(out.mask) +
                                     " that is not a bool tensor shaped like the weight");
        return out;
    };
}

// A method's step given every option it declares: a caller's LayerInput may leave some out (the
// pipeline gives the Plan's whole section).
PruneFunction with_default_options(PruneFunction prune, nlohmann::json defaults) {
    return [prune = std::move(prune), defaults = std::move(defaults)](const LayerInput& in) {
        bool complete = in.options.is_object();
        for (const auto& [key, value] : defaults.items()) complete = complete && in.options.contains(key);
        if (complete) return prune(in);
        LayerInput filled = in;
        if (!filled.options.is_object()) filled.options = nlohmann::json::object();
        for (const auto& [key, value] : defaults.items())
            if (!filled.options.contains(key)) filled.options[key] = value;
        return prune(filled);
    };
}

void require_unstructured(const PruneOptions& plan) {
    if (SparsityPattern::parse(plan.pattern).is_nm())
        throw Error("plan allocation.kind", "\"" + plan.allocation.kind + "\" allocates unstructured sparsities; the " +
                                                plan.pattern + " pattern fixes every Linear at N/M (use uniform)");
}

SparsityMap keep_start(Vlm&, const PruneOptions&, const SparsityMap& start, const std::vector<VlmInputs>&, const JobControl&) {
    return start;
}

std::vector<PruneMethod> builtin_methods() {
    PruneMethod magnitude{"magnitude", "Magnitude", "the weights of smallest |W| go; needs no calibration data",
                          false, false, CompareGroup::Matrix,
                          [](const LayerInput& in) { return magnitude_scores(in.weight, in.name); }, {}, ""};
    PruneMethod wanda{"wanda", "Wanda",
                      "|W_ij|·‖X_j‖ from the calibration inputs, no weight update (Sun et al., ICLR 2024)",
                      true, false, std::nullopt,
                      [](const LayerInput& in) { return wanda_scores(in.weight, in.column_sq_norms, in.name); }, {}, ""};
    const SparseGptOptions defaults;
    PruneMethod sparsegpt{"sparsegpt", "SparseGPT",
                          "OBS pruning from X·Xᵀ that also updates the kept weights (Frantar & Alistarh, ICML 2023)",
                          false, true, std::nullopt, {},
                          [](const LayerInput& in) {
                              SparseGptOptions o;
                              o.blocksize = in.options.at("blocksize").get<int64_t>();
                              o.percdamp = in.options.at("percdamp").get<double>();
                              return sparsegpt_prune(in.weight, in.gram, in.sparsity, in.pattern, o, in.gram_writable);
                          },
                          "",
                          {MethodOption::integer("blocksize", defaults.blocksize, 1, "columns pruned and updated together"),
                           MethodOption::number("percdamp", defaults.percdamp, 0.0, 1.0,
                                                "dampening added to the Hessian diagonal, as a fraction of its mean", true, true)}};
    const DsnotOptions dsnot_defaults;
    PruneMethod dsnot{"dsnot", "DSnoT",
                      "Wanda's (or magnitude's) mask refined by training-free swaps toward zero expected output change "
                      "(Zhang et al., ICLR 2024)",
                      true, false, CompareGroup::Row, {},
                      [](const LayerInput& in) {
                          DsnotOptions o;
                          o.initial = in.options.at("initial").get<std::string>();
                          o.cycles = in.options.at("cycles").get<int64_t>();
                          o.threshold = in.options.at("threshold").get<double>();
                          o.variance_power = in.options.at("variance_power").get<double>();
                          // The released code leaves the MLP at the initial mask unless told otherwise.
                          if (in.options.at("layers").get<std::string>() == "attention" && (widens_mlp(in.role) || narrows_mlp(in.role)))
                              o.cycles = 0;
                          const at::Tensor mask = dsnot_mask(in.weight, {in.column_sq_norms, in.column_sums, in.column_vars},
                                                             in.sparsity, in.pattern, in.group, o, in.name);
                          return PruneOutcome{apply_mask(in.weight, mask), mask};
                      },
                      "",
                      {MethodOption::text("initial", dsnot_defaults.initial, {"wanda", "magnitude"}, "the mask DSnoT starts from"),
                       MethodOption::integer("cycles", dsnot_defaults.cycles, 0, "at most this many swaps per output row"),
                       MethodOption::number("threshold", dsnot_defaults.threshold, 0.0, std::nullopt,
                                            "a row stops once its expected output change |Σ W_ij·E[x_j]| over the pruned is at most this"),
                       MethodOption::number("variance_power", dsnot_defaults.variance_power, 0.0, std::nullopt,
                                            "p in the growing score W_ij·E[x_j] / Var[x_j]^p"),
                       MethodOption::text("layers", "attention", {"attention", "all"},
                                          "the Linears refined: attention only (the MLP keeps the initial mask, as the released code) or all")}};
    const AlpsOptions alps_defaults;
    PruneMethod alps{"alps", "ALPS",
                     "ADMM on the layer-wise reconstruction with a penalty raised as the support settles, then a "
                     "conjugate-gradient refit of the kept weights (Meng et al., NeurIPS 2024)",
                     false, true, CompareGroup::Matrix, {},
                     [](const LayerInput& in) {
                         AlpsOptions o;
                         o.rho = in.options.at("rho").get<double>();
                         o.iterations = in.options.at("iterations").get<int64_t>();
                         o.update_every = in.options.at("update_every").get<int64_t>();
                         o.settle_after = in.options.at("settle_after").get<int64_t>();
                         o.cg_iterations = in.options.at("cg_iterations").get<int64_t>();
                         o.percdamp = in.options.at("percdamp").get<double>();
                         return alps_prune(in.weight, in.gram, in.sparsity, in.pattern, in.group, o, in.name);
                     },
                     "",
                     {MethodOption::number("rho", alps_defaults.rho, 0.0, std::nullopt, "the initial ADMM penalty", true),
                      MethodOption::integer("iterations", alps_defaults.iterations, 0, "ADMM steps at most"),
                      MethodOption::integer("update_every", alps_defaults.update_every, 1, "ADMM steps between penalty updates"),
                      MethodOption::integer("settle_after", alps_defaults.settle_after, 0,
                                            "from this step on, stop once under 0.03 % of the support changes between updates"),
                      MethodOption::integer("cg_iterations", alps_defaults.cg_iterations, 0,
                                            "conjugate-gradient steps refitting the kept weights"),
                      MethodOption::number("percdamp", alps_defaults.percdamp, 0.0, 1.0,
                                           "ridge added to the Gram diagonal, as a fraction of its mean", false, true)}};
    return {magnitude, wanda, sparsegpt, dsnot, alps, width_method(), depth_method(), comp_method()};
}

std::vector<Allocator> builtin_allocators() {
    const AllocateFunction ecoflap = [](Vlm& model, const PruneOptions& plan, const SparsityMap& start,
                                        const std::vector<VlmInputs>& calibration, const JobControl& job) {
        require_unstructured(plan);
        EcoflapOptions eco;
        eco.epsilon = plan.allocation.epsilon;
        eco.extra = plan.allocation.extra;
        eco.seed = plan.seed;
        const EcoflapScores scores = ecoflap_scores(model, start, calibration, eco, job);
        return ecoflap_allocate(model.map(), start, scores, plan.sparsity, eco);
    };
    const AllocateFunction first_order = [](Vlm& model, const PruneOptions& plan, const SparsityMap& start,
                                            const std::vector<VlmInputs>& calibration, const JobControl& job) {
        require_unstructured(plan);
        EcoflapOptions eco;
        eco.extra = plan.allocation.extra;
        const EcoflapScores scores = ecoflap_first_order_scores(model, start, calibration, job);
        return ecoflap_allocate(model.map(), start, scores, plan.sparsity, eco);
    };
    const AllocateFunction owl = [](Vlm& model, const PruneOptions& plan, const SparsityMap& start,
                                    const std::vector<VlmInputs>& calibration, const JobControl& job) {
        require_unstructured(plan);
        const auto ratios = owl_outlier_ratios(model, start, calibration, plan.allocation.owl_m, job);
        return owl_allocate(model.map(), start, ratios, plan.sparsity, plan.allocation.owl_lambda);
    };
    const AllocateFunction sensitivity = [](Vlm& model, const PruneOptions& plan, const SparsityMap& start,
                                            const std::vector<VlmInputs>&, const JobControl&) {
        require_unstructured(plan);
        if (plan.allocation.sensitivity.empty())
            throw Error("allocation.sensitivity", "names no sensitivity sweep (DIR/sweep.json of prunestudio-cli sweep --sensitivity)");
        return sensitivity_allocate(model.map(), start, plan.allocation.sensitivity, plan.sparsity,
                                    plan.allocation.sensitivity_lambda);
    };
    return {
        {"uniform", "Uniform", "the Plan's sparsity for every targeted Linear", keep_start, "", false},
        {"modality", "Per modality", "one sparsity per modality (vision, language) from the Plan's allocation", keep_start, "", false},
        {"ecoflap", "ECoFLaP (zeroth-order)",
         "per-block keep budgets from forward-only loss differences under weight noise (Sung et al., ICLR 2024)", ecoflap, ""},
        {"ecoflap-first-order", "ECoFLaP (first-order)",
         "per-block keep budgets from Σ|W|·|mean gradient| of the calibration loss (Sung et al., ICLR 2024)", first_order, ""},
        {"owl", "OWL",
         "blocks with more Wanda-score outliers pruned less, within s ± λ (Yin et al., ICML 2024)", owl, ""},
        {"sensitivity", "Sensitivity",
         "blocks whose pruning alone cost more accuracy (a sensitivity sweep) pruned less, within s ± λ", sensitivity, "", false},
    };
}

struct Registry {
    std::mutex mu;
    std::deque<PruneMethod> methods;  // deques: registering keeps earlier references valid
    std::deque<Allocator> allocators;
    Registry();
};

template <typename T>
const T* find_in(const std::deque<T>& list, const std::string& id) {
    for (const T& x : list)
        if (x.id == id) return &x;
    return nullptr;
}

// Methods that mask weights first, then those that remove whole structures, each in registration
// order (a plugin's masking method is listed before width, depth and comp).
std::vector<PruneMethod> in_listing_order(const std::deque<PruneMethod>& methods) {
    std::vector<PruneMethod> out;
    for (bool removes : {false, true})
        for (const PruneMethod& m : methods)
            if (static_cast<bool>(m.remove) == removes) out.push_back(m);
    return out;
}

template <typename List>
std::string ids_of(const List& list) {
    std::string s;
    for (const auto& x : list) s += (s.empty() ? "" : ", ") + x.id;
    return s;
}

const PruneMethod* reading_section(const std::deque<PruneMethod>& methods, const std::string& key) {
    for (const PruneMethod& m : methods)
        if (!m.options.empty() && m.section_key() == key) return &m;
    return nullptr;
}

void add_method(Registry& r, PruneMethod m) {
    if (m.id.empty()) throw Error("pruning method", "the id is empty");
    const std::string where = "pruning method \"" + m.id + "\"";
    if (find_in(r.methods, m.id)) throw Error(where, "already registered");
    if (static_cast<int>(static_cast<bool>(m.scores)) + static_cast<bool>(m.prune) + static_cast<bool>(m.remove) != 1)
        throw Error(where, "give exactly one of a score function and a prune function (or a remove function, for methods removing whole structures)");
    if (!m.options.empty()) {
        if (const PruneMethod* other = reading_section(r.methods, m.section_key()))
            throw Error(where, "its options section \"" + m.section_key() + "\" is method " + other->id + "'s");
        if (PruneOptions::fixed_keys().count(m.section_key()))
            throw Error(where, "its options section \"" + m.section_key() + "\" is a key of the Plan itself");
        // The defaults must pass the method's own checks.
        const nlohmann::json defaults = default_method_section(m.options);
        const JsonFields f(defaults, where, m.section_key());
        const nlohmann::json checked_defaults = read_method_section(m.options, &f);
        if (m.check_options) m.check_options(checked_defaults, f);
    }
    if (!m.remove) m.prune = m.scores ? select_by_scores(m.scores, m.id) : checked(std::move(m.prune), m.id);
    if (m.prune && !m.options.empty()) m.prune = with_default_options(std::move(m.prune), default_method_section(m.options));
    if (m.origin.empty()) m.origin = kBuiltInOrigin;
    r.methods.push_back(std::move(m));
}

void add_allocator(Registry& r, Allocator a) {
    if (a.id.empty()) throw Error("allocation", "the id is empty");
    if (find_in(r.allocators, a.id)) throw Error("allocation \"" + a.id + "\"", "already registered");
    if (!a.allocate) throw Error("allocation \"" + a.id + "\"", "has no allocate function");
    if (a.origin.empty()) a.origin = kBuiltInOrigin;
    r.allocators.push_back(std::move(a));
}

Registry::Registry() {
    for (PruneMethod& m : builtin_methods()) add_method(*this, std::move(m));
    for (Allocator& a : builtin_allocators()) add_allocator(*this, std::move(a));
}

Registry& registry() {
    static Registry r;
    return r;
}

}  // namespace

void register_method(PruneMethod method) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    add_method(r, std::move(method));
}

void register_allocator(Allocator allocator) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    add_allocator(r, std::move(allocator));
}

std::vector<PruneMethod> registered_methods() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return in_listing_order(r.methods);
}

std::vector<Allocator> registered_allocators() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return {r.allocators.begin(), r.allocators.end()};
}

const PruneMethod* find_method(const std::string& id) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return find_in(r.methods, id);
}

const Allocator* find_allocator(const std::string& id) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return find_in(r.allocators, id);
}

std::string method_ids() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return ids_of(in_listing_order(r.methods));
}

std::string allocator_ids() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return ids_of(r.allocators);
}

const PruneMethod& method_by_id(const std::string& id) {
    if (const PruneMethod* m = find_method(id)) return *m;
    throw Error("pruning method", "\"" + id + "\" is not registered (known: " + method_ids() + ")");
}

const Allocator& allocator_by_id(const std::string& id) {
    if (const Allocator* a = find_allocator(id)) return *a;
    throw Error("allocation", "\"" + id + "\" is not registered (known: " + allocator_ids() + ")");
}

const PruneMethod* method_of_section(const std::string& key) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return reading_section(r.methods, key);
}

SparsityMap plan_allocation(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job) {
    return allocator_by_id(plan.allocation.kind).allocate(model, plan, allocate(plan, model.map()), calibration, job);
}

CompareGroup compare_group_for(const PruneMethod& method, const std::string& compare, Modality modality) {
    if (compare != "auto") return parse_compare_group(compare);
    if (method.auto_compare) return *method.auto_compare;
    return modality == Modality::Vision ? CompareGroup::Matrix : CompareGroup::Row;
}

}  // namespace ps
