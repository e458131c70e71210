#include "core/job/sweep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

#include "core/data/fashion_mnist.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/data/prompts.h"
#include "core/error.h"
#include "core/eval/eval_set.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_files.h"
#include "core/io/json_util.h"
#include "core/model/model_map.h"
#include "core/model/processor.h"
#include "core/prune/calibration.h"
#include "core/prune/pattern.h"
#include "core/prune/pipeline.h"
#include "core/prune/registry.h"
#include "core/token/flops.h"
#include "core/prune/scratch_pool.h"
#include "core/token/token_method.h"
#include "core/token/token_pruning.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

std::string fnv1a_hex(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

// A prompt's prefill as `model` runs now: the median of three forwards of `batch` (after one
// untimed), divided by its prompts, in milliseconds.
double prefill_ms(const Vlm& model, const VlmInputs& batch) {
    std::vector<double> ms;
    for (int r = -1; r < 3; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const VlmOutputs out = model.forward(batch);
        (out.logits.defined() ? out.logits : out.logits_per_image).sum().item<double>();  // waits for a GPU to finish
        if (r >= 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[1] / static_cast<double>(batch.input_ids.size(0));
}

}  // namespace

std::vector<Plan> sweep_plans(const Plan& base, const SweepSpec& spec) {
    auto check = [](const std::string& field, double s) {
        if (!(s >= 0 && s < 1)) throw Error(field, std::to_string(s) + " is outside [0, 1)");
    };
    std::vector<Plan> out;
    if (!spec.keeps.empty() && (spec.sensitivity || !spec.vision.empty() || !spec.language.empty()))
        throw Error("keeps", "token keep ratios are swept with methods and sparsities, not with a modality grid or sensitivity");
    if (!spec.keeps.empty() && spec.token_methods.empty() && base.tokens.method.empty() && base.tokens.vision.empty() &&
        base.tokens.language_after < 0)
        throw Error("keeps", "the Plan prunes no tokens: give tokens.method, tokens.vision or tokens.language_after, or token "
                             "methods, to sweep keep ratios");
    if (!spec.token_methods.empty() && spec.keeps.empty()) throw Error("token_methods", "need keep ratios to sweep");
    for (const std::string& m : spec.token_methods)
        if (!find_token_method(m)) throw Error("token_methods", "\"" + m + "\" is not a token method (" + token_method_names() + ")");
    for (double k : spec.keeps)
        if (!(k > 0 && k <= 1)) throw Error("keeps", std::to_string(k) + " is outside (0, 1]");
    if (spec.sensitivity) {
        check("sparsity", base.sparsity);
        std::vector<std::string> groups;  // in map order: by modality, then block number
        for (const LinearLayer& l : inspect_checkpoint(base.model).linears)
            if (l.prunable && !l.group.empty() && std::find(groups.begin(), groups.end(), l.group) == groups.end())
                groups.push_back(l.group);
        for (const std::string& g : groups) {
            Plan p = base;
            p.allocation = AllocationOptions{};
            p.overrides.clear();
            p.targets = {std::regex_replace(g, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + "\\..*"};
            p.name = g;
            out.push_back(std::move(p));
        }
    } else if (!spec.vision.empty() || !spec.language.empty()) {
        if (spec.vision.empty() || spec.language.empty())
            throw Error("sweep grid", "needs both vision and language sparsities");
        for (double v : spec.vision)
            for (double l : spec.language) {
                check("vision", v);
                check("language", l);
                Plan p = base;
                p.allocation = AllocationOptions{};
                p.allocation.kind = "modality";
                p.allocation.modality = {{"vision", v}, {"language", l}};
                p.name = p.method + " " + p.pattern + " V " + percent_label(v) + " / L " + percent_label(l);
                out.push_back(std::move(p));
            }
    } else {
        const std::vector<std::string> methods = spec.methods.empty() ? std::vector<std::string>{base.method} : spec.methods;
        const std::vector<std::string> patterns = spec.patterns.empty() ? std::vector<std::string>{base.pattern} : spec.patterns;
        const std::vector<double> sparsities = spec.sparsities.empty() ? std::vector<double>{base.sparsity} : spec.sparsities;
        const std::vector<double> keeps = spec.keeps.empty() ? std::vector<double>{-1.0} : spec.keeps;
        const std::vector<std::string> token_methods = spec.token_methods.empty() ? std::vector<std::string>{""} : spec.token_methods;
        for (const auto& m : methods)
            for (const auto& pattern : patterns) {
                const SparsityPattern nm = SparsityPattern::parse(pattern, "patterns");
                const std::vector<double> targets =
                    nm.is_nm() ? std::vector<double>{static_cast<double>(nm.n) / nm.m} : sparsities;
                for (const std::string& tm : token_methods)
                    for (double k : keeps)
                        for (double s : targets) {
                            check("sparsity", s);
                            Plan p = base;
                            p.method = m;
                            p.pattern = pattern;
                            p.sparsity = s;
                            // A per-modality split keeps its proportions: each ratio scaled by s / the base's
                            // sparsity (N:M gives N/M wherever a ratio is above zero, so it stays).
                            for (auto& [modality, ratio] : p.allocation.modality) {
                                if (nm.is_nm()) break;
                                if (base.sparsity <= 0)
                                    throw Error("sparsities",
                                                "the base Plan's sparsity is 0, so its per-modality split cannot be scaled");
                                ratio = ratio * s / base.sparsity;
                                check("allocation." + modality + " (scaled to sparsity " + percent_label(s) + ")", ratio);
                            }
                            p.name = m + " " + p.pattern + " " + percent_label(s);
                            if (!tm.empty()) {
                                if (p.tokens.method != tm) p.tokens = TokenOptions{};  // the base's options for its own method
                                p.tokens.method = tm;
                                p.name += " tokens " + tm;
                            }
                            if (k >= 0) {
                                p.tokens.keep = k;
                                for (auto& [block, keep] : p.tokens.vision) keep = k;
                                if (p.tokens.language_after >= 0) p.tokens.language_keep = k;
                                p.name += " keep " + percent_label(k);
                            }
                            out.push_back(std::move(p));
                        }
            }
    }
    for (const Plan& p : out) {
        SparsityPattern::parse(p.pattern);  // throws naming the pattern
        const PruneMethod* m = find_method(p.method);
        if (!m || m->remove) {
            std::string masking;
            for (const PruneMethod& r : registered_methods())
                if (!r.remove) masking += (masking.empty() ? "" : ", ") + r.id;
            throw Error("methods", "\"" + p.method + "\" is not an unstructured / N:M method (" + masking + ")");
        }
    }
    return out;
}

std::string sweep_key(const Plan& plan, const SweepSpec& spec) {
    Plan p = plan;
    p.name.clear();               // a label only
    p.evaluation.metric.clear();  // a point keeps every metric of its task
    const nlohmann::json j = {{"plan", p.to_json()},
                              {"eval", {{"data", "fashion-mnist test"}, {"limit", spec.eval_limit}}},
                              {"checkpoint", checkpoint_identity(plan.model)},
                              {"format", 5}};
    return fnv1a_hex(j.dump());
}

SweepResult run_sweep(const Plan& base, const SweepSpec& spec, const std::string& cache_dir, const JobControl& job) {
    ScratchPool::install();  // the pipeline pools its repeated temporaries (PruneMemory)
    const auto start = std::chrono::steady_clock::now();
    if (base.model.empty()) throw Error("plan", "names no model");
    // The task as the Plan gives it is part of every point's key (empty: the model's default, fixed by
    // the checkpoint, which is in the key too); it is resolved once the model is loaded.
    base.evaluation.check_metric();
    const std::string metric = base.evaluation.metric;
    std::string task;  // resolved: from the loaded model's kind, or from a cached point
    // The point's score: the asked metric, else the task's headline; nullopt when the point lacks it.
    auto score_of = [&](const SweepPoint& pt) -> std::optional<double> {
        if (pt.metrics.empty()) return std::nullopt;
        const std::string& name = metric.empty() ? pt.metrics.front().first : metric;
        for (const auto& [k, v] : pt.metrics)
            if (k == name) return v;
        return std::nullopt;
    };
    Plan dense = base;
    dense.allocation = AllocationOptions{};
    dense.sparsity = 0;
    dense.pattern = "unstructured";
    dense.tokens = TokenOptions{};
    dense.name = "dense";
    std::vector<Plan> plans = sweep_plans(base, spec);
    plans.insert(plans.begin(), dense);
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    if (ec) throw Error(cache_dir, "cannot create the sweep cache: " + ec.message());

    std::unique_ptr<Vlm> model;
    std::unique_ptr<EvalSet> test;         // zero-shot
    std::unique_ptr<VqaSet> questions;     // a generative task
    std::map<std::string, std::vector<VlmInputs>> calibration;  // by the calibration section
    std::optional<SampleTokens> sample;  // of the first calibration batch: what FLOPs are counted for
    SweepResult r;
    r.model = base.model;
    for (size_t i = 0; i < plans.size(); ++i) {
        const Plan& p = plans[i];
        const std::string key = sweep_key(p, spec), path = cache_dir + "/" + key + ".json";
        job.report("sweep", static_cast<int64_t>(i), static_cast<int64_t>(plans.size()), p.name);
        SweepPoint pt;
        if (fs::exists(path)) pt = SweepPoint::from_json(read_json_file(path), path);
        if (score_of(pt)) {
            pt.cached = true;
            ++r.cached;
            if (task.empty()) task = pt.task;
        } else {
            pt = SweepPoint{};
            const auto t0 = std::chrono::steady_clock::now();
            if (!model) {
                LoadOptions load;
                load.device = base.device;
                load.dtype = base.dtype;
                model = Vlm::load(base.model, load);
                task = base.evaluation.task_for(model->capabilities().generative());
                if (const std::optional<VqaKind> kind = vqa_kind_from_name(task)) {
                    questions = std::make_unique<VqaSet>(fashion_mnist_vqa(load_fashion_mnist(fashion_mnist_dir(), "test"), *kind, spec.eval_limit));
                } else {
                    const ImageProcessorConfig cfg = Processor(*model).image_config();
                    test = std::make_unique<EvalSet>(labelled_eval_set("fashion-mnist test",
                                                                       load_fashion_mnist(fashion_mnist_dir(), "test"), cfg,
                                                                       zero_shot_templates(), spec.eval_limit));
                }
            }
            model->weights().clear_overrides();
            pt.key = key;
            pt.task = task;
            pt.name = p.name;
            pt.method = p.method;
            pt.pattern = p.pattern;
            pt.sparsity = p.sparsity;
            pt.params = static_cast<int64_t>(model->map().total_params);
            pt.params_nonzero = pt.params;
            if (spec.sensitivity) pt.block = p.name;
            if (!spec.vision.empty()) {  // a grid point (a scaled per-modality split stays on its curve)
                pt.vision = p.allocation.modality.count("vision") ? p.allocation.modality.at("vision") : 0.0;
                pt.language = p.allocation.modality.count("language") ? p.allocation.modality.at("language") : 0.0;
            }
            const std::string ckey = nlohmann::json{{"data", p.calibration.data}, {"samples", p.calibration.samples},
                                                    {"batch", p.calibration.batch_size}, {"seed", p.seed}}
                                         .dump();
            if (!calibration.count(ckey)) calibration[ckey] = calibration_batches(*model, p.calibration, p.seed);
            const auto& batches = calibration[ckey];
            if (batches.empty()) throw Error("calibration", "gives no batches");
            if (!sample) sample = sample_tokens(*model, batches.front());
            const bool prunes_weights = p.sparsity > 0 || std::any_of(p.allocation.modality.begin(), p.allocation.modality.end(),
                                                                        [](const auto& m) { return m.second > 0; });
            if (i > 0 && prunes_weights) {
                const PruneResult pruned = prune_model(*model, p, plan_allocation(*model, p, batches, job), batches, job);
                int64_t zeros = 0, targeted = 0;
                for (const TensorResult& t : pruned.tensors) {
                    zeros += t.numel - t.nnz;
                    targeted += t.numel;
                }
                pt.params_nonzero = pt.params - zeros;
                pt.achieved = targeted > 0 ? static_cast<double>(zeros) / static_cast<double>(targeted) : 0.0;
            }
            const TokenPruning tokens = TokenPruning::from_plan(p.tokens, *model);
            pt.tokens = tokens.active();
            pt.token_method = p.tokens.method;
            if (!spec.keeps.empty())
                pt.keep = !p.tokens.method.empty() ? p.tokens.keep
                          : p.tokens.vision.empty() ? p.tokens.language_keep
                                                    : p.tokens.vision.begin()->second;
            const auto counts = token_counts(*model, tokens, sample->vision, sample->language, sample->image);
            pt.flops = block_flops(*model, counts).total();
            const int language = tower_index(*model, Modality::Language);
            if (model->capabilities().image_tokens_in_language && language >= 0)
                pt.image_tokens = equivalent_image_tokens(counts[language], sample->language - sample->image);
            install_token_pruning(*model, tokens);
            pt.prefill_ms = prefill_ms(*model, batches.front());
            if (questions) {
                VqaEvalOptions opt;
                opt.batch_size = std::min<int64_t>(spec.eval_batch, 32);  // generation's KV cache and likelihood logits
                pt.metrics = evaluate_vqa(*model, *questions, opt, job).metrics.metrics;
            } else {
                EvalOptions opt;
                opt.batch_size = spec.eval_batch;
                pt.metrics = zero_shot(*model, *test, opt, job).metrics;
            }
            if (!score_of(pt)) {
                std::string names;
                for (const auto& m : pt.metrics) names += (names.empty() ? "" : ", ") + m.first;
                throw Error("evaluation.metric", "task " + task + " gives no \"" + metric + "\" (" + names + ")");
            }
            install_token_pruning(*model, TokenPruning{});
            model->weights().clear_overrides();
            pt.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            write_file_atomic(path, pt.to_json().dump(2) + "\n");
            ++r.ran;
        }
        pt.accuracy = *score_of(pt);
        if (i == 0) {
            r.task = task;
            r.metric = metric.empty() ? pt.metrics.front().first : metric;
            r.lower_is_better = metric_lower_is_better(r.metric);
            r.dense_accuracy = pt.accuracy;
            r.dense_flops = pt.flops;
            r.dense_image_tokens = pt.image_tokens;
            r.dense_prefill_ms = pt.prefill_ms;
        } else r.points.push_back(pt);
    }
    job.report("sweep", static_cast<int64_t>(plans.size()), static_cast<int64_t>(plans.size()));
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace ps
