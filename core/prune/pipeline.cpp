#include "core/prune/pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/prune/hessian.h"
#include "core/prune/lockstep.h"
#include "core/prune/mask.h"
#include "core/prune/reconstruction_error.h"
#include "core/prune/registry.h"
#include "core/prune/wanda.h"

namespace ps {
namespace {

using Clock = std::chrono::steady_clock;

struct Target {
    const LinearLayer* layer;
    double sparsity;
    // X·Xᵀ for methods that prune from it (SparseGPT's H): a running average over the batches in
    // order, made at the first input and shared by Linears fed the same tensor (q/k/v, gate/up).
    std::shared_ptr<HessianAccumulator> gram;
};

// The statistics of what one calibration batch fed a target, shared by the targets fed the same
// tensor: the rows the reconstruction error is measured on and, for Wanda-like methods, the column
// norms. Made by whichever thread ran the batch; merged over the batches in their order.
struct InputStats {
    // From one batch's input x.
    InputStats(const LinearLayer& l, int64_t batches, bool norms, const at::Tensor& x)
        : rows(l.in_features, batches, l.name + " input") {
        if (norms) this->norms.emplace(l.in_features, l.name + " input");
        rows.add(x);
        if (this->norms) this->norms->add(x);
    }
    // Appends a later batch's.
    void merge(const InputStats& later) {
        rows.merge(later.rows);
        if (norms) norms->merge(*later.norms);
    }
    InputRowSample rows;
    std::optional<ColumnNormAccumulator> norms;
};

// The tap's record of one batch: each target's input statistics, and the previous target with its
// input (a Linear fed that same tensor shares them).
struct BatchTap {
    std::map<std::string, std::shared_ptr<InputStats>> stats;
    std::string last;
    at::Tensor last_input;
};

// The batch the calling thread is running, for the statistics pass's tap; set while it runs.
thread_local BatchTap* current_tap = nullptr;
struct RunningBatch {
    explicit RunningBatch(BatchTap& tap) { current_tap = &tap; }
    ~RunningBatch() { current_tap = nullptr; }
};

// Runs f(i) for i in [0, n), in that order of starting: with `parallel`, items go to the intra-op
// threads as they become free, each item's kernels then running on one thread. The work of one
// calibration batch or one Linear is too small to split well over a few cores; whole items side by
// side keep every core busy. An item's results do not depend on the thread that runs it; what the
// batches accumulate is merged in batch order.
void for_each_parallel(size_t n, bool parallel, const std::function<void(size_t)>& f) {
    if (!parallel || n < 2) {
        for (size_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<size_t> next{0};
    at::parallel_for(0, std::min<int64_t>(at::get_num_threads(), static_cast<int64_t>(n)), 1, [&](int64_t, int64_t) {
        at::NoGradGuard no_grad;  // grad mode is per thread
        for (size_t i = next++; i < n; i = next++) f(i);
    });
}

// Keeps a streamed block's tensors materialised while a stage runs it over every batch.
struct HeldBlock {
    WeightStore& w;
    explicit HeldBlock(WeightStore& store) : w(store) { w.hold_block_tensors(true); }
    ~HeldBlock() { w.hold_block_tensors(false); }
};

// Batches of the same length and attention mask get equal attention biases and rotary tables from
// embed(): one copy, the first batch's, serves them all while the tower's states are held.
void share_equal_side_tensors(StageState& s, const StageState& first) {
    auto share = [](at::Tensor& t, const at::Tensor& f) {
        if (t.defined() && f.defined() && !t.is_same(f) && t.sizes() == f.sizes() && t.scalar_type() == f.scalar_type() &&
            at::equal(t, f))
            t = f;
    };
    share(s.bias, first.bias);
    share(s.cos, first.cos);
    share(s.sin, first.sin);
    share(s.positions, first.positions);
}

// Thrown by the statistics pass's tap once every target of the block has seen its input: the rest
// of that block's run (at least the last Linear's product) would be thrown away, so it is skipped.
struct AllInputsSeen {};

}  // namespace

PruneResult prune_model(Vlm& model, const PruneOptions& plan, const SparsityMap& allocation,
                        const std::vector<VlmInputs>& calibration, const JobControl& job, PrunedSink* sink) {
    return Pruner(model, plan, allocation, calibration).run(job, sink);
}

PruneResult Pruner::run(const JobControl& job, PrunedSink* sink) const {
    Vlm& model = model_;
    const PruneOptions& plan = plan_;
    const SparsityMap& allocation = allocation_;
    const std::vector<VlmInputs>& calibration = calibration_;
    const PruneMemory& memory = memory_;
    // for_each_parallel over the calibration batches, with their large temporaries pooled: each
    // batch is given the buffers the one before it freed.
    auto for_each_batch = [&](size_t n, bool parallel, const std::function<void(size_t)>& f) {
        const auto pooled = memory.scope();
        for_each_parallel(n, parallel, f);
    };
    const auto start = Clock::now();
    const PruneMethod& method = method_by_id(plan.method);
    if (method.remove) throw Error("plan method", method.id + " removes whole structures; it is run by its own remove function");
    const nlohmann::json options = plan.method_options(method.id);
    const int64_t batches = static_cast<int64_t>(calibration.size());
    const SparsityPattern pattern = SparsityPattern::parse(plan.pattern);
    if (calibration.empty() && (method.needs_column_norms || method.needs_gram))
        throw Error("calibration", "no calibration batches (" + method.display + " prunes from each Linear's inputs)");
    for (const auto& [name, s] : allocation) check_sparsity(s, name);
    std::map<std::string, const LinearLayer*> by_name;
    for (const LinearLayer& l : model.map().linears) by_name[l.name] = &l;
    for (const auto& [name, s] : allocation) {
        auto it = by_name.find(name);
        if (it == by_name.end() || (it->second->block < 0 && it->second->modality != Modality::Projector))
            throw Error(name, "not a Linear inside a block or the projector of this model");
        if (s > 0) check_pattern(pattern, it->second->in_features, name);  // a dense target needs no N:M fit
    }

    WeightStore& w = model.weights();
    const bool one_pass = plan.sequential == "linear";
    if (one_pass && w.streaming())
        throw Error("sequential", "\"linear\" holds every calibration batch's activations inside a block at once; a streamed "
                                  "model is pruned with \"block\"");
    PruneResult result;
    result.method = plan.method;
    result.pattern = pattern.name();
    for (const auto& [name, s] : allocation)  // targets the allocation keeps dense are reported too
        if (s == 0) {
            const LinearLayer* l = by_name.at(name);
            TensorResult r;
            r.name = name;
            r.modality = modality_name(l->modality);
            r.block = l->block;
            r.numel = r.nnz = static_cast<int64_t>(l->params());
            r.relative_error = 0.0;  // left as it was
            result.tensors.push_back(r);
        }
    std::vector<std::pair<std::string, at::Tensor>> changed;  // weight name, its earlier override (if any)
    std::set<std::string> had_override;  // weights overridden before this run: set back, not unset
    std::vector<std::string> to_prune;   // allocated above zero, in a block its tower runs or the projector
    for (const auto& [name, s] : allocation) {
        const LinearLayer* l = by_name.at(name);
        if (w.overridden(name + ".weight")) had_override.insert(name + ".weight");
        if (s > 0 && l->modality == Modality::Projector && l->block < 0) to_prune.push_back(name);
        for (const TowerInfo& t : model.towers())
            if (s > 0 && t.modality == l->modality && l->block < t.num_blocks) {
                to_prune.push_back(name);
                break;
            }
    }
    auto restore = [&](const std::string& wname, const at::Tensor& before) {
        if (had_override.count(wname)) w.set(wname, before);
        else w.unset(wname);
    };
    if (sink) sink->begin(to_prune);
    at::NoGradGuard no_grad;
    // What a method gets for one Linear besides its input statistics.
    auto layer_input = [&](const std::string& name, const LinearLayer& l, const at::Tensor& weight, double sparsity) {
        LayerInput in;
        in.name = name;
        in.role = l.role;
        in.weight = weight;
        in.sparsity = sparsity;
        in.pattern = pattern;
        in.group = compare_group_for(method, plan.compare, l.modality);
        in.options = options;
        return in;
    };
    auto result_of = [&](const std::string& name, const LinearLayer& l, int block, double target, const at::Tensor& pruned) {
        TensorResult r;
        r.name = name;
        r.modality = modality_name(l.modality);
        r.block = block;
        r.target = target;
        r.numel = pruned.numel();
        r.nnz = nonzero_count(pruned);
        r.achieved = 1.0 - static_cast<double>(r.nnz) / static_cast<double>(r.numel);
        return r;
    };

    // The targets of one stage: the allocation's Linears for which `pick` holds.
    auto stage_targets = [&](const std::function<bool(const LinearLayer&)>& pick) {
        std::map<std::string, Target> targets;
        for (const auto& [name, s] : allocation) {
            const LinearLayer* l = by_name.at(name);
            if (s > 0 && pick(*l)) {
                targets.emplace(name, Target{l, s, nullptr});
            }
        }
        return targets;
    };
    // Batches and Linears run side by side on the CPU, except in a streamed model (streamed because
    // memory is short): there they run one after another, each on every thread, so that only one
    // batch's activations or one Linear's scores and copies are made at a time. Methods that prune
    // from X·Xᵀ keep the reference's order and threading for statistics and pruning: X·Xᵀ is a
    // running average over the batches in order, and SparseGPT's solve amplifies the rounding
    // differences between one- and multi-threaded LAPACK kernels into different masks.
    const bool side_by_side = w.device().is_cpu() && !w.streaming(), in_order = method.needs_gram;
    // A pruned weight and the override it replaces (kept only when it must be restored).
    struct Pruned {
        std::string wname;
        at::Tensor weight, before;
    };
    auto install = [&](Pruned p) {
        changed.emplace_back(p.wname, std::move(p.before));
        w.set(p.wname, std::move(p.weight));
    };
    // Prunes every target that has statistics in `inputs` (and erases it from `targets`): side by
    // side on the CPU unless the method prunes from X·Xᵀ. The pruned weights go into the model, or
    // into `held` while the stage must stay dense for another pass.
    auto prune_from = [&](const std::string& stage, int block, std::map<std::string, Target>& targets,
                          const std::map<std::string, std::shared_ptr<InputStats>>& inputs, std::vector<Pruned>* held,
                          bool last_reads) {
        // The targets that had an input, pruned side by side (each one's kernels on one thread). Their
        // weights are fetched first: get() must not run beside set().
        std::vector<std::map<std::string, Target>::iterator> ready;
        std::vector<at::Tensor> originals;
        for (auto it = targets.begin(); it != targets.end(); ++it)
            if (inputs.count(it->first)) {
                ready.push_back(it);
                originals.push_back(w.get(it->first + ".weight"));
            }
        std::vector<size_t> largest_first(ready.size());
        std::iota(largest_first.begin(), largest_first.end(), 0);
        std::stable_sort(largest_first.begin(), largest_first.end(),
                         [&](size_t a, size_t b) { return originals[a].numel() > originals[b].numel(); });
        std::vector<TensorResult> results(ready.size());
        std::mutex mu;  // the model's weights, the sink, `changed` and result.masks
        // Each Linear's temporaries are pooled, and trimmed after it unless Linears run side by side
        // (then those of one shape reuse each other's until the last is done). One at a time, a
        // Linear's temporaries, mostly of sizes it asks for once, are kept no further than its peak.
        const bool linears_side_by_side = side_by_side && !in_order;
        // Methods that prune from X·Xᵀ run their Linears one after another (in_order): when these
        // are all the Linears that read them (last_reads), the last to read one is handed it to
        // overwrite (SparseGPT factors it in place), and it goes with that Linear's step.
        std::vector<bool> gram_handed_over(ready.size(), false);
        if (method.needs_gram && last_reads) {
            std::set<const HessianAccumulator*> read_later;
            for (auto k = largest_first.rbegin(); k != largest_first.rend(); ++k)
                gram_handed_over[*k] = read_later.insert(ready[*k]->second.gram.get()).second;
        }
        const auto pooled = linears_side_by_side ? memory.scope() : std::nullopt;
        for_each_parallel(ready.size(), linears_side_by_side, [&](size_t k) {
            const auto pooled_linear = memory.scope(linears_side_by_side ? ScratchPool::Keep::All : ScratchPool::Keep::UpToPeak);
            const size_t i = largest_first[k];
            const std::string& name = ready[i]->first;
            const Target& tg = ready[i]->second;
            const auto t0 = Clock::now();
            const std::string wname = name + ".weight";
            const at::Tensor weight = std::move(originals[i]);  // released with this step
            const InputStats& input = *inputs.at(name);
            const PruneOutcome out = [&] {  // a Hessian handed over goes with `in`, before the checks below
                LayerInput in = layer_input(name, *tg.layer, weight, tg.sparsity);
                if (input.norms) {
                    in.column_sq_norms = input.norms->mean_squared_norms();
                    in.column_sums = input.norms->mean_sums();
                    in.column_vars = input.norms->variances();
                }
                if (method.needs_gram) {
                    in.gram_writable = gram_handed_over[i];
                    in.gram = in.gram_writable ? tg.gram->release() : tg.gram->matrix();
                }
                return method.prune(in);
            }();
            TensorResult& r = results[i];
            r = result_of(name, *tg.layer, block, tg.sparsity, out.weight);
            r.relative_error = input.rows.relative_error(weight, out.weight);
            r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            {
                const std::lock_guard<std::mutex> lock(mu);
                // Only an earlier override needs keeping to be restored; a checkpoint tensor comes
                // back by unset() (so a streamed block's original pages are not held).
                Pruned p{wname, out.weight, had_override.count(wname) ? weight : at::Tensor()};
                if (held) {
                    held->push_back(std::move(p));
                    w.release_held(wname);  // the dense original's pages go with this step
                } else {
                    install(std::move(p));
                }
                if (sink) sink->add(name, out.weight, out.mask);  // the mask is not kept: the sink has it
                else result.masks[name] = out.mask.to(at::kCPU);
            }
            job.check(stage);
        });
        result.tensors.insert(result.tensors.end(), results.begin(), results.end());
        for (auto it : ready) targets.erase(it);
    };

    // Collects the targets' input statistics while `run(b)` runs calibration batch b through the
    // stage, then prunes every target that had an input (the rest stay in `targets` for a later
    // stage). The pruned weights go into the model, or into `held` while the stage must stay dense
    // for another pass. The stage is run again by the caller with the pruned weights.
    auto prune_targets = [&](const std::string& stage, int block, std::map<std::string, Target>& targets,
                             const std::function<void(size_t)>& run, std::vector<Pruned>* held) {
        if (targets.empty()) return;
        std::vector<BatchTap> taps(calibration.size());
        w.set_linear_tap([&](const std::string& name, const at::Tensor& x) {
            auto it = targets.find(name);
            if (it == targets.end() || !current_tap) return;
            BatchTap& tap = *current_tap;
            Target& tg = it->second;
            if (!tap.last.empty() && x.is_same(tap.last_input)) {  // the previous target's input
                tap.stats[name] = tap.stats.at(tap.last);
                if (method.needs_gram) tg.gram = targets.at(tap.last).gram;
            } else {
                auto stats = std::make_shared<InputStats>(*tg.layer, batches, method.needs_column_norms, x);
                if (method.needs_gram) {  // made at the first input: one per distinct input
                    if (!tg.gram) tg.gram = std::make_shared<HessianAccumulator>(tg.layer->in_features, w.device());
                    tg.gram->add(x);
                }
                tap.stats[name] = std::move(stats);
            }
            tap.last = name;
            tap.last_input = x;
            if (tap.stats.size() == targets.size()) throw AllInputsSeen{};
        });
        try {
            for_each_batch(calibration.size(), side_by_side && !in_order, [&](size_t b) {
                {
                    const RunningBatch running(taps[b]);
                    try {
                        run(b);
                    } catch (const AllInputsSeen&) {
                    }
                }
                taps[b].last_input = at::Tensor();
                job.check(stage);
            });
        } catch (...) {
            w.set_linear_tap(nullptr);
            throw;
        }
        w.set_linear_tap(nullptr);
        // Each input's statistics over the batches, merged in batch order into its first batch's.
        std::map<std::string, std::shared_ptr<InputStats>> inputs;
        std::set<const InputStats*> merged;
        for (const auto& [name, tg] : targets) {
            std::shared_ptr<InputStats> first;
            for (const BatchTap& tap : taps) {
                auto f = tap.stats.find(name);
                if (f == tap.stats.end()) continue;
                if (!first) {
                    first = f->second;
                    if (!merged.insert(first.get()).second) break;  // a shared input, merged already
                } else {
                    first->merge(*f->second);
                }
            }
            if (first) inputs[name] = first;
        }
        taps.clear();
        if (sink) memory.release_freed();  // before the pruned weights are made
        prune_from(stage, block, targets, inputs, held, true);
    };
    // prune_targets over a stage. In a streamed block whose Linears' inputs differ in width, X·Xᵀ
    // are gathered in two passes, so the widest (an MLP's down projection: 16 MiB for a 2048-wide
    // input) and the others are not held at once: first those fed the widest input, then, with the
    // block still dense, the rest. The matrices are the same as from one pass.
    auto prune_stage = [&](const std::string& stage, int block, std::map<std::string, Target>& targets,
                           const std::function<void(size_t)>& run) {
        int64_t widest = 0;
        for (const auto& [name, tg] : targets) widest = std::max(widest, tg.layer->in_features);
        std::map<std::string, Target> wide;
        if (method.needs_gram && w.streaming() && block >= 0) {
            for (auto it = targets.begin(); it != targets.end();) {
                if (it->second.layer->in_features == widest) wide.insert(targets.extract(it++));
                else ++it;
            }
        }
        if (wide.empty() || targets.empty()) {
            targets.merge(wide);
            prune_targets(stage, block, targets, run, nullptr);
            return;
        }
        std::vector<Pruned> held;  // out of the model until the second pass has run on the dense block
        prune_targets(stage, block, wide, run, &held);
        prune_targets(stage, block, targets, run, nullptr);
        for (Pruned& p : held) install(std::move(p));
        targets.merge(wide);  // any that never had an input
    };
    // "sequential": "linear": runs a block once over every batch in lockstep (core/prune/lockstep.h),
    // pruning each target as every batch reaches it, from inputs that went through the targets pruned
    // before it; the batches' states leave the block pruned. Linears fed the same tensor share its
    // statistics, gathered in batch order.
    auto prune_in_one_pass = [&](const std::string& stage, int block, std::map<std::string, Target>& targets,
                                 const std::function<void(size_t)>& run) {
        // Each batch's statistics, made on its thread (none for a Linear fed its previous input);
        // merged in batch order at the stop, X·Xᵀ summed there in batch order.
        std::vector<std::shared_ptr<InputStats>> batch_stats(calibration.size());
        std::vector<at::Tensor> batch_last(calibration.size()), last_inputs;
        std::shared_ptr<InputStats> last_stats;
        std::shared_ptr<HessianAccumulator> last_gram;
        LockstepBlock pass;
        pass.batches = calibration.size();
        pass.width = side_by_side ? at::get_num_threads() : 1;
        pass.run = run;
        pass.stops_at = [&](const std::string& name) { return targets.count(name) > 0; };
        pass.on_input = [&](const std::string& name, size_t b, const at::Tensor& x) {
            if (x.is_same(batch_last[b])) return;  // the previous Linear's input: its statistics serve
            batch_last[b] = x;
            batch_stats[b] = std::make_shared<InputStats>(*targets.at(name).layer, batches, method.needs_column_norms, x);
        };
        pass.check = [&] { job.check(stage); };
        pass.at_stop = [&](const std::string& name, const std::vector<at::Tensor>& inputs) {
            Target& tg = targets.at(name);
            const bool shared = last_inputs.size() == inputs.size() &&
                                std::equal(inputs.begin(), inputs.end(), last_inputs.begin(),
                                           [](const at::Tensor& a, const at::Tensor& b) { return a.is_same(b); });
            if (!shared) {
                for (size_t b = 0; b < inputs.size(); ++b)
                    if (inputs[b].defined() && b < last_inputs.size() && inputs[b].is_same(last_inputs[b]))
                        throw Error(name, "fed the previous Linear's input in some calibration batches and not in others");
                last_stats = nullptr;
                last_gram = method.needs_gram ? std::make_shared<HessianAccumulator>(tg.layer->in_features, w.device()) : nullptr;
                for (size_t b = 0; b < inputs.size(); ++b) {
                    if (!inputs[b].defined()) continue;  // a batch that finished without this Linear
                    if (!last_stats) last_stats = batch_stats[b];
                    else last_stats->merge(*batch_stats[b]);
                    if (last_gram) last_gram->add(inputs[b]);
                }
                last_inputs = inputs;
            }
            tg.gram = last_gram;
            prune_from(stage, block, targets, {{name, last_stats}}, nullptr, false);
        };
        run_in_lockstep(w, pass);
    };
    // With a sink, the Linears pruned so far leave the model once their stage has run again with
    // them: one stage is held at a time.
    auto flush = [&] {
        if (!sink) return;
        for (const auto& [wname, before] : changed) restore(wname, before);
        changed.clear();
        memory.release_freed();
    };

    if (calibration.empty()) {  // a method that reads no inputs, given no data: each Linear from its weights alone
        try {
            for (size_t i = 0; i < to_prune.size(); ++i) {
                const std::string& name = to_prune[i];
                const LinearLayer& l = *by_name.at(name);
                const auto t0 = Clock::now();
                const std::string wname = name + ".weight";
                const at::Tensor weight = w.get(wname);
                const PruneOutcome out = method.prune(layer_input(name, l, weight, allocation.at(name)));
                TensorResult r = result_of(name, l, l.block, allocation.at(name), out.weight);
                r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                result.tensors.push_back(r);
                if (sink) {
                    sink->add(name, out.weight, out.mask);
                } else {
                    install({wname, out.weight, had_override.count(wname) ? weight : at::Tensor()});
                    result.masks[name] = out.mask.to(at::kCPU);
                }
                job.report("pruning", static_cast<int64_t>(i + 1), static_cast<int64_t>(to_prune.size()), name);
            }
        } catch (...) {
            for (auto it = changed.rbegin(); it != changed.rend(); ++it) restore(it->first, it->second);
            throw;
        }
        result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return result;
    }

    try {
        int64_t blocks_total = 0, blocks_done = 0;
        for (const TowerInfo& t : model.towers()) blocks_total += t.num_blocks;
        // Projector Linears run where the family runs them: in a tower's finish (LLaVA's projector,
        // before the language tower) or in the head (dual encoders' projections).
        auto projectors = stage_targets([](const LinearLayer& l) { return l.modality == Modality::Projector && l.block < 0; });
        // Each tower's last block with a Linear to prune (-1: none): past the last of them, with no
        // projector left, nothing more needs to run.
        std::vector<int> last_block(model.towers().size(), -1);
        for (const std::string& name : to_prune)
            for (size_t t = 0; t < last_block.size(); ++t)
                if (by_name.at(name)->modality == model.towers()[t].modality)
                    last_block[t] = std::max(last_block[t], by_name.at(name)->block);
        auto work_after = [&](int t, int i) {
            if (!projectors.empty() || last_block[static_cast<size_t>(t)] > i) return true;
            return std::any_of(last_block.begin() + t + 1, last_block.end(), [](int b) { return b >= 0; });
        };
        std::vector<std::vector<StageState>> done(calibration.size());
        // One pass keeps every batch's activations inside a block: the buffers they take stay pooled
        // from block to block rather than mapped and faulted in afresh for each.
        const auto pooled_run = one_pass ? memory.scope() : std::nullopt;
        bool finished = false;
        for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
            const TowerInfo& tower = model.towers()[t];
            // The last tower's last block and finish run again only to feed projectors still to prune.
            const bool nothing_after = t + 1 == static_cast<int>(model.towers().size()) && projectors.empty();
            std::vector<StageState> states;
            {
                const auto pooled = memory.scope();  // states in the pool's mappings, which the blocks' passes reuse
                for (size_t b = 0; b < calibration.size(); ++b) {
                    states.push_back(model.embed(t, calibration[b], done[b]));
                    if (b > 0) share_equal_side_tensors(states.back(), states.front());
                    if (nothing_after) done[b].clear();  // the finished towers fed this embedding; no head runs
                }
            }
            memory.release_freed();  // what the embedding freed, before the blocks' pooled passes map more
            for (int i = 0; i < tower.num_blocks; ++i) {
                auto targets = stage_targets([&](const LinearLayer& l) { return l.block == i && l.modality == tower.modality; });
                const std::string stage = tower.name + " block " + std::to_string(i);
                finished = !work_after(t, i);  // then its second pass and the blocks after it would run for nothing
                if (one_pass && !targets.empty()) {
                    prune_in_one_pass(stage, i, targets, [&](size_t b) { model.block(t, i, states[b]); });
                    if (!targets.empty()) throw Error(targets.begin()->first, "its block never ran it, so it cannot be calibrated");
                } else {
                    const HeldBlock held(w);  // mapped once for both passes over the batches
                    prune_stage(stage, i, targets, [&](size_t b) {
                        StageState probe = states[b];
                        model.block(t, i, probe);
                    });
                    if (!targets.empty()) throw Error(targets.begin()->first, "its block never ran it, so it cannot be calibrated");
                    if (!finished) for_each_batch(states.size(), side_by_side, [&](size_t b) { model.block(t, i, states[b]); });
                }
                flush();
                job.report("pruning", finished ? blocks_total : ++blocks_done, blocks_total, stage);
                if (finished) break;
            }
            if (nothing_after || finished) break;
            prune_stage(tower.name + " finish", -1, projectors, [&](size_t b) {
                StageState probe = states[b];
                model.finish(t, probe);
            });
            for (size_t b = 0; b < states.size(); ++b) {
                model.finish(t, states[b]);
                done[b].push_back(std::move(states[b]));
            }
            flush();
        }
        prune_stage("head", -1, projectors, [&](size_t b) { model.head(calibration[b], done[b]); });
        flush();
        if (!projectors.empty())
            throw Error(projectors.begin()->first, "this model's forward never runs it, so it cannot be calibrated");
    } catch (...) {
        w.set_linear_tap(nullptr);
        for (auto it = changed.rbegin(); it != changed.rend(); ++it) restore(it->first, it->second);
        throw;
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

nlohmann::json PruneResult::to_json() const {
    nlohmann::json tensors_json = nlohmann::json::array(), modalities = nlohmann::json::object();
    struct Total {
        int64_t zeros = 0, numel = 0;
        double targeted = 0;  // Σ target · numel
        nlohmann::json to_json() const {
            const double n = static_cast<double>(numel);
            return {{"sparsity", numel ? static_cast<double>(zeros) / n : 0.0}, {"target", numel ? targeted / n : 0.0},
                    {"pruned", zeros}, {"params", numel}};
        }
    };
    std::map<std::string, Total> totals;  // by modality
    Total all;
    for (const TensorResult& t : tensors) {
        nlohmann::json j = {{"name", t.name}, {"modality", t.modality}, {"block", t.block}, {"target", t.target},
                            {"achieved", t.achieved}, {"nnz", t.nnz}, {"numel", t.numel}, {"seconds", t.seconds}};
        if (t.relative_error) j["relative_error"] = *t.relative_error;
        tensors_json.push_back(j);
        for (Total* total : {&totals[t.modality], &all}) {
            total->zeros += t.numel - t.nnz;
            total->numel += t.numel;
            total->targeted += t.target * static_cast<double>(t.numel);
        }
    }
    for (const auto& [m, total] : totals) modalities[m] = total.to_json();
    return {{"method", method},
            {"pattern", pattern},
            {"seconds", seconds},
            {"total", all.to_json()},
            {"modalities", modalities},
            {"tensors", tensors_json}};
}

std::string PruneResult::to_text() const {
    const nlohmann::json j = to_json();
    std::string s;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s %s: %zu tensors in %.1f s\n", method.c_str(), pattern.c_str(), tensors.size(), seconds);
    s += buf;
    for (const auto& [m, v] : j["modalities"].items()) {
        std::snprintf(buf, sizeof buf, "  %-10s sparsity %.4f (%lld of %lld weights)\n", m.c_str(), v["sparsity"].get<double>(),
                      static_cast<long long>(v["pruned"].get<int64_t>()), static_cast<long long>(v["params"].get<int64_t>()));
        s += buf;
    }
    std::snprintf(buf, sizeof buf, "  %-10s sparsity %.4f (target %.4f)\n", "total", j["total"]["sparsity"].get<double>(),
                  j["total"]["target"].get<double>());
    s += buf;
    double err = 0;
    int measured = 0;
    for (const TensorResult& t : tensors)
        if (t.relative_error) {
            err += *t.relative_error;
            ++measured;
        }
    if (measured == 0) return s + "  relative reconstruction error not measured (pruned without calibration data)\n";
    std::snprintf(buf, sizeof buf, "  mean relative reconstruction error %.4f\n", err / measured);
    return s + buf;
}

}  // namespace ps
