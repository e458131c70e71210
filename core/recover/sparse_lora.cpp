#include "core/recover/sparse_lora.h"

#include <cmath>
#include <filesystem>
#include <set>

#include <torch/autograd.h>

#include "core/ends_with.h"
#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/train/rng_stream.h"

namespace ps {

namespace {

const std::string kWeight = ".weight";

// w where keep, +0 elsewhere (a product with the mask would leave -0 under negative weights).
at::Tensor masked(const at::Tensor& w, const at::Tensor& keep) { return at::where(keep, w, at::zeros({}, w.options())); }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = x·W′ᵀ + b for a frozen weight W′ = W ⊙ M (or W itself where `keep` is undefined). W′ is made
// again in backward rather than kept in the graph, so a step holds no weight-sized tensor per Linear.
struct FrozenMaskedLinear : torch::autograd::Function<FrozenMaskedLinear> {
    // `keep` and `bias` may be undefined; passed as optionals, which autograd takes for non-inputs then.
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& keep,
                              const std::optional<at::Tensor>& bias) {
        const at::Tensor k = keep.value_or(at::Tensor());
        ctx->saved_data["w"] = w;
        ctx->saved_data["keep"] = k;
        return at::linear(x, k.defined() ? masked(w, k) : w, bias.value_or(at::Tensor()));
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad) {
        const at::Tensor w = ctx->saved_data["w"].toTensor(), keep = ctx->saved_data["keep"].toTensor();
        return {at::matmul(grad[0], keep.defined() ? masked(w, keep) : w), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

// y = x·((s·B·A) ⊙ M)ᵀ, SparseLoRA's branch. The masked update is made again in backward; the
// gradients of B and A go through the mask: G = s·(gᵀx) ⊙ M, ∂B = G·Aᵀ, ∂A = Bᵀ·G.
struct MaskedLoraBranch : torch::autograd::Function<MaskedLoraBranch> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& a, const at::Tensor& b,
                              const at::Tensor& keep, double scale) {
        ctx->save_for_backward({x, a, b});
        ctx->saved_data["keep"] = keep;
        ctx->saved_data["scale"] = scale;
        return at::linear(x, masked(at::mm(b, a).mul_(scale), keep).to(x.scalar_type()));
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad) {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor &x = saved[0], &a = saved[1], &b = saved[2];
        const at::Tensor keep = ctx->saved_data["keep"].toTensor();
        const double scale = ctx->saved_data["scale"].toDouble();
        const at::Tensor g = grad[0];
        const at::Tensor gx = at::matmul(g, masked(at::mm(b, a).mul_(scale), keep).to(g.scalar_type()));
        const at::Tensor g2 = g.reshape({-1, g.size(-1)}).to(at::kFloat), x2 = x.reshape({-1, x.size(-1)}).to(at::kFloat);
        const at::Tensor gw = masked(at::mm(g2.t(), x2).mul_(scale), keep);  // ∂L/∂(B·A)
        return {gx, at::mm(b.t(), gw), at::mm(gw, a.t()), at::Tensor(), at::Tensor()};
    }
};

}  // namespace

RecoveryMode parse_recovery_mode(const std::string& s) {
    if (s == "sparselora") return RecoveryMode::SparseLora;
    if (s == "lora") return RecoveryMode::Lora;
    if (s == "full") return RecoveryMode::Full;
    if (s == "projector") return RecoveryMode::Projector;
    throw Error("recovery", "mode '" + s + "' is not one of sparselora, lora, full, projector");
}

const char* recovery_mode_name(RecoveryMode m) {
    switch (m) {
        case RecoveryMode::SparseLora: return "sparselora";
        case RecoveryMode::Lora: return "lora";
        case RecoveryMode::Full: return "full";
        case RecoveryMode::Projector: return "projector";
    }
    return "?";
}

namespace {

// A pruned Linear from its weight `w`, bool mask `pruned` (true = pruned) and dense weight `d`;
// `source` names where the weight came from in errors.
PrunedLinear pruned_linear(const std::string& wname, const at::Tensor& w, const at::Tensor& pruned, const at::Tensor& d,
                           const std::string& source) {
    if (pruned.sizes() != d.sizes() || w.sizes() != d.sizes())
        throw Error(source, "weight or mask of '" + wname + "' has another shape than the dense model's " + shape_string(d));
    PrunedLinear p;
    p.keep = pruned.logical_not().to(d.device());
    if (w.masked_select(pruned.to(w.device())).ne(0).any().item<bool>())
        throw Error(source, "weight '" + wname + "' is not zero where the mask says pruned");
    if (!at::equal(w, masked(d, p.keep))) p.weight = w;  // changed beyond the mask: kept as it is
    return p;
}

std::string linear_of(const std::string& wname, const std::string& source) {
    if (wname.size() <= kWeight.size() || !ends_with(wname, kWeight))
        throw Error(source, "mask '" + wname + "' is not a Linear's weight");
    return wname.substr(0, wname.size() - kWeight.size());
}

}  // namespace

PrunedLinears load_pruned_linears(const std::string& pruned_dir, const WeightStore& dense) {
    const std::string masks_path = pruned_dir + "/masks.safetensors";
    if (!std::filesystem::exists(masks_path))
        throw Error(masks_path, "missing: recovery needs the masks of an unstructured or N:M pruning");
    const Checkpoint pruned = Checkpoint::open(pruned_dir);
    PrunedLinears out;
    for (const auto& [wname, mask] : load_safetensors(masks_path)) {
        const std::string linear = linear_of(wname, masks_path);
        const at::Tensor d = dense.get(wname);
        out.emplace(linear, pruned_linear(wname, tensor_view(pruned, wname).to(d.device(), d.scalar_type()), mask.ne(0), d, pruned_dir));
    }
    return out;
}

PrunedLinears take_pruned_linears(WeightStore& w, const std::map<std::string, at::Tensor>& masks) {
    PrunedLinears out;
    for (const auto& [linear, mask] : masks) {
        const std::string wname = linear + kWeight;
        const at::Tensor p = w.get(wname);
        w.unset(wname);
        out.emplace(linear, pruned_linear(wname, p, mask.to(at::kBool), w.get(wname), "pruned model"));
    }
    return out;
}

Student::Student(const Vlm& model, PrunedLinears pruned, const StudentOptions& opt) : opt_(opt), pruned_(std::move(pruned)) {
    if (opt_.alpha <= 0) throw Error("recovery", "lora alpha must be positive");
    if (opt_.dropout < 0 || opt_.dropout >= 1) throw Error("recovery", "lora dropout must be in [0, 1)");
    const WeightStore& w = model.weights();
    at::Generator gen = rng_stream(opt_.seed, 10, 0);
    for (const LinearLayer& l : model.map().linears) {
        const bool masked = pruned_.count(l.name) > 0;
        Adapted a;
        if (opt_.mode == RecoveryMode::SparseLora || opt_.mode == RecoveryMode::Lora) {
            auto r = opt_.rank.find(l.modality);
            if (!masked || r == opt_.rank.end() || r->second <= 0) continue;
            const int64_t rank = r->second;
            if (rank > std::min(l.in_features, l.out_features))
                throw Error("recovery", "rank " + std::to_string(rank) + " exceeds the size of '" + l.name + "'");
            // kaiming_uniform_(a = √5) as LoRA initialises A: bound 1/√in; B starts at zero.
            const double bound = 1.0 / std::sqrt(static_cast<double>(l.in_features));
            a.a = at::empty({rank, l.in_features}, at::TensorOptions(at::kFloat)).uniform_(-bound, bound, gen);
            a.a = a.a.to(w.device()).requires_grad_(true);
            a.b = at::zeros({l.out_features, rank}, at::TensorOptions(w.device()).dtype(at::kFloat)).requires_grad_(true);
            a.scale = opt_.alpha / static_cast<double>(rank);
            params_.emplace_back(l.name + ".lora_A", a.a);
            params_.emplace_back(l.name + ".lora_B", a.b);
        } else {
            const bool wanted = opt_.mode == RecoveryMode::Full ? masked : l.modality == Modality::Projector;
            if (!wanted) continue;
            a.weight = pruned_weight(l.name, w.get(l.name + kWeight)).to(at::kFloat).clone().requires_grad_(true);
            params_.emplace_back(l.name + kWeight, a.weight);
        }
        adapted_.emplace(l.name, std::move(a));
    }
    if (params_.empty())
        throw Error("recovery", std::string("mode ") + recovery_mode_name(opt_.mode) + " finds no Linear to train (no masks or no rank for their towers)");
}

int64_t Student::trainable_count() const {
    int64_t n = 0;
    for (const auto& [name, p] : params_) n += p.numel();
    return n;
}

std::vector<std::string> Student::linears() const {
    std::set<std::string> names;
    for (const auto& [name, p] : pruned_) names.insert(name);
    for (const auto& [name, a] : adapted_) names.insert(name);
    return {names.begin(), names.end()};
}

at::Tensor Student::pruned_weight(const std::string& name, const at::Tensor& dense) const {
    auto p = pruned_.find(name);
    if (p == pruned_.end()) return dense;
    return p->second.weight.defined() ? p->second.weight : masked(dense, p->second.keep);
}

at::Tensor Student::forward(const std::string& name, const at::Tensor& x, const at::Tensor& dense, const at::Tensor& bias) const {
    const auto p = pruned_.find(name);
    auto it = adapted_.find(name);
    // The pruned weight: the checkpoint's own where it changed beyond the mask, else W ⊙ M.
    auto frozen = [&] {
        if (p == pruned_.end()) return at::linear(x, dense, bias);
        const bool own = p->second.weight.defined();
        return FrozenMaskedLinear::apply(x, own ? p->second.weight : dense, std::optional<at::Tensor>(own ? at::Tensor() : p->second.keep),
                                         std::optional<at::Tensor>(bias));
    };
    if (it == adapted_.end()) return p == pruned_.end() ? at::Tensor() : frozen();  // pruned, not trained
    const Adapted& a = it->second;
    if (a.weight.defined()) {
        const at::Tensor wt = p == pruned_.end() ? a.weight : masked(a.weight, p->second.keep);
        return at::linear(x, wt.to(x.scalar_type()), bias);
    }
    at::Tensor branch_in = x;
    if (dropout_gen_ && opt_.dropout > 0) {
        const double keep = 1.0 - opt_.dropout;
        branch_in = x * at::empty_like(x).bernoulli_(keep, *dropout_gen_).div_(keep);
    }
    if (opt_.mode == RecoveryMode::SparseLora) return frozen() + MaskedLoraBranch::apply(branch_in, a.a, a.b, p->second.keep, a.scale);
    const at::Tensor low = at::linear(at::linear(branch_in, a.a.to(x.scalar_type())), a.b.to(x.scalar_type()));
    return frozen() + low * a.scale;
}

at::Tensor Student::merged(const std::string& name, const at::Tensor& dense, bool repruned) const {
    const auto p = pruned_.find(name);
    auto it = adapted_.find(name);
    at::Tensor w;
    if (it == adapted_.end()) {
        w = pruned_weight(name, dense);
    } else if (it->second.weight.defined()) {
        w = it->second.weight.detach();
        if (p != pruned_.end()) w = masked(w, p->second.keep);
    } else {
        const Adapted& a = it->second;
        w = pruned_weight(name, dense).to(at::kFloat) + at::mm(a.b.detach(), a.a.detach()).mul_(a.scale);
        if (opt_.mode == RecoveryMode::SparseLora || repruned) w = masked(w, p->second.keep);  // (W + s·B·A) ⊙ M
    }
    return w.to(dense.scalar_type());
}

StudentScope::StudentScope(Vlm& model, const Student& student) : w_(model.weights()) {
    w_.set_linear_adapter([&student](const std::string& name, const at::Tensor& x, const at::Tensor& dense, const at::Tensor& bias) {
        return student.forward(name, x, dense, bias);
    });
}

StudentScope::~StudentScope() { w_.set_linear_adapter(nullptr); }

}  // namespace ps
