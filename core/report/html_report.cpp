#include "core/report/html_report.h"

#include <ATen/core/grad_mode.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/calibration_options.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image_processor.h"
#include "core/data/prompts.h"
#include "core/error.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/eval/eval_set.h"
#include "core/eval/evaluation_options.h"
#include "core/eval/next_token_kl.h"
#include "core/eval/sweep_result.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/io/json_fields.h"
#include "core/io/json_util.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "core/prune/mask.h"
#include "core/report/sweep_curves.h"
#include "core/report/token_heatmap.h"
#include "core/runtime.h"
#include "core/token/image_tokens.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '&') o += "&amp;";
        else if (c == '"') o += "&quot;";
        else o += c;
    }
    return o;
}

std::string base64(const std::vector<uint8_t>& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string o;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        o += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (i + 1 == in.size()) {
        const uint32_t v = in[i] << 16;
        o += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const uint32_t v = (in[i] << 16) | (in[i + 1] << 8);
        o += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return o;
}

// An RGB image as an <img> with its PNG inline.
std::string png_img(const cv::Mat& rgb, const std::string& alt, int width) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uint8_t> bytes;
    cv::imencode(".png", bgr, bytes);
    return "<img alt=\"" + escape(alt) + "\" width=\"" + std::to_string(width) + "\" src=\"data:image/png;base64," +
           base64(bytes) + "\">";
}

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

double median_seconds(const std::function<void()>& run, int repeats) {
    run();  // warm-up
    std::vector<double> s;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
}

// Why a sweep's curves do not belong in the report of a run pruned from `dense_dir`; empty when they do.
std::string sweep_mismatch(const SweepResult& sweep, const std::string& dense_dir) {
    if (sweep.model.empty()) return "it does not record which checkpoint it swept (sweep it again to include it)";
    std::error_code ec;
    if (dense_dir.empty() || !fs::equivalent(sweep.model, dense_dir, ec))
        return "it is a sweep of another checkpoint (" + sweep.model + "), not of " +
               (dense_dir.empty() ? std::string("this run's, which its plan.json does not name") : dense_dir);
    return {};
}

const char* kStyle =
    "body{font-family:'DejaVu Sans',sans-serif;margin:24px 40px;color:#222}h1{font-size:22px}h2{font-size:17px;"
    "border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}table{border-collapse:collapse;font-size:12px}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}"
    "pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}.note{color:#555;font-size:13px}"
    ".tag{display:inline-block;background:#fde2b8;padding:1px 6px;border-radius:3px;font-size:12px}";

}  // namespace

nlohmann::json write_report(const std::string& run_dir, const std::string& html_path, const ReportOptions& opt,
                            const JobControl& job) {
    const auto start = std::chrono::steady_clock::now();
    const std::string result_path = run_dir + "/result.json";
    if (!fs::exists(result_path)) throw Error(run_dir, "has no result.json (is it a pruning run folder?)");
    const nlohmann::json result = read_json_file(result_path);
    const nlohmann::json plan = fs::exists(run_dir + "/plan.json") ? read_json_file(run_dir + "/plan.json") : nlohmann::json::object();
    const std::string method = result.value("method", plan.value("method", std::string("?")));
    const std::string pattern = result.value("pattern", plan.value("pattern", std::string("?")));
    const std::string dense_dir = plan.value("model", std::string());

    nlohmann::json report = {{"run", run_dir}, {"method", method}, {"pattern", pattern}, {"plan", plan}};
    std::ostringstream h;
    h << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>PruneStudio report: " << escape(method) << " "
      << escape(pattern) << "</title><style>" << kStyle << "</style></head><body>";
    h << "<h1>PruneStudio report — " << escape(method) << " " << escape(pattern) << "</h1>";
    h << "<p class=\"note\">Run <code>" << escape(run_dir) << "</code>";
    if (!dense_dir.empty()) h << " pruned from <code>" << escape(dense_dir) << "</code>";
    h << ".</p>";

    // Plan
    h << "<h2 id=\"plan\">Plan</h2><table>";
    for (const char* key : {"name", "method", "pattern", "sparsity", "compare", "device", "dtype", "seed"})
        if (plan.contains(key)) h << "<tr><td class=\"l\">" << key << "</td><td class=\"l\">" << escape(plan[key].dump()) << "</td></tr>";
    if (result.contains("total") && result["total"].contains("target"))
        h << "<tr><td class=\"l\">overall target</td><td class=\"l\">" << fmt("%.4f", result["total"]["target"].get<double>())
          << " (the allocation's parameter-weighted mean over the targeted Linears)</td></tr>";
    for (const char* key : {"allocation", "calibration"})
        if (plan.contains(key))
            h << "<tr><td class=\"l\">" << key << "</td><td class=\"l\"><code>" << escape(plan[key].dump()) << "</code></td></tr>";
    h << "</table><details><summary>the whole Plan (JSON)</summary><pre>" << escape(plan.dump(2)) << "</pre></details>";

    // Totals and the per-layer table: from result.json, or measured on the weights for runs that
    // record no per-tensor results (recovery)
    auto model = Vlm::load(run_dir);
    nlohmann::json tensors = result.value("tensors", nlohmann::json::array());
    nlohmann::json modalities = result.value("modalities", nlohmann::json::object());
    nlohmann::json total = result.value("total", nlohmann::json::object());
    const bool measured = !result.contains("tensors") && result.contains("recovery");
    if (measured) {
        int64_t pruned_all = 0, params_all = 0;
        for (const LinearLayer& l : model->map().linears) {
            if (!l.prunable) continue;
            const at::Tensor w = model->weights().get(l.name + ".weight");
            const int64_t numel = w.numel(), nnz = nonzero_count(w);
            if (nnz == numel) continue;
            const std::string m = modality_name(l.modality);
            tensors.push_back({{"name", l.name}, {"modality", m}, {"nnz", nnz},
                               {"achieved", 1.0 - static_cast<double>(nnz) / static_cast<double>(numel)}});
            auto& t = modalities[m];
            if (t.is_null()) t = {{"pruned", int64_t{0}}, {"params", int64_t{0}}};
            t["pruned"] = t["pruned"].get<int64_t>() + (numel - nnz);
            t["params"] = t["params"].get<int64_t>() + numel;
            t["sparsity"] = t["pruned"].get<double>() / t["params"].get<double>();
            pruned_all += numel - nnz;
            params_all += numel;
        }
        if (params_all > 0)
            total = {{"pruned", pruned_all}, {"params", params_all},
                     {"sparsity", static_cast<double>(pruned_all) / static_cast<double>(params_all)}};
    }
    h << "<h2 id=\"totals\">Sparsity per modality</h2>";
    if (!modalities.empty() && !total.empty()) {
        if (measured) h << "<p class=\"note\">Counted on the recovered weights (zeros per masked Linear).</p>";
        h << "<table><tr><th class=\"l\">modality</th><th>pruned</th><th>targeted weights</th><th>sparsity</th></tr>";
        for (const auto& [m, v] : modalities.items())
            h << "<tr><td class=\"l\">" << escape(m) << "</td><td>" << v["pruned"].get<int64_t>() << "</td><td>"
              << v["params"].get<int64_t>() << "</td><td>" << fmt("%.4f", v["sparsity"].get<double>()) << "</td></tr>";
        h << "<tr><th class=\"l\">total</th><th>" << total["pruned"].get<int64_t>() << "</th><th>" << total["params"].get<int64_t>()
          << "</th><th>" << fmt("%.4f", total["sparsity"].get<double>()) << "</th></tr></table>";
        report["totals"] = {{"modalities", modalities}, {"total", total}};
    } else {
        h << "<p class=\"note\">This run (" << escape(method) << ") removes structures instead of masking weights; see its "
          << "result below.</p><pre>" << escape(result.dump(2).substr(0, 4000)) << "</pre>";
    }
    h << "<h2 id=\"layers\">Per-layer table</h2>";
    nlohmann::json layers = nlohmann::json::array();
    if (!tensors.empty()) {
        std::map<std::string, const LinearLayer*> by_name;
        for (const LinearLayer& l : model->map().linears) by_name[l.name] = &l;
        const auto cell = [](const nlohmann::json& t, const char* key, const char* f) {
            return t.contains(key) ? fmt(f, t[key].get<double>()) : std::string("–");
        };
        h << "<table><tr><th class=\"l\">name</th><th class=\"l\">modality</th><th>shape</th><th>nnz</th><th>target</th>"
             "<th>sparsity</th><th>rel. reconstruction error</th><th>seconds</th></tr>";
        for (const auto& t : tensors) {
            const std::string name = t["name"].get<std::string>();
            const LinearLayer* l = by_name.count(name) ? by_name[name] : nullptr;
            const std::string shape = l ? std::to_string(l->out_features) + "×" + std::to_string(l->in_features) : "";
            h << "<tr><td class=\"l\">" << escape(name) << "</td><td class=\"l\">" << escape(t["modality"].get<std::string>())
              << "</td><td>" << shape << "</td><td>" << t["nnz"].get<int64_t>() << "</td><td>" << cell(t, "target", "%.3f")
              << "</td><td>" << cell(t, "achieved", "%.4f") << "</td><td>" << cell(t, "relative_error", "%.4f") << "</td><td>"
              << cell(t, "seconds", "%.3f") << "</td></tr>";
            nlohmann::json row = {{"name", name}, {"modality", t["modality"]}, {"shape", shape}, {"nnz", t["nnz"]},
                                  {"sparsity", t["achieved"]}};
            if (t.contains("relative_error")) row["relative_error"] = t["relative_error"];
            layers.push_back(row);
        }
        h << "</table>";
    } else {
        h << "<p class=\"note\">No per-tensor masks in this run.</p>";
    }
    report["layers"] = layers;

    // Accuracy: dense, pruned before recovery (recovery runs) and this run, on the same test images;
    // for a decoder, how far its next-token distributions moved from the dense model's
    const bool decoder = model->capabilities().generative();
    const bool dual = !decoder && model->towers().size() == 2 && model->weights().has("logit_scale");
    const ImageProcessorConfig cfg = Processor(*model).image_config();
    const LabelledImages test = dual ? load_fashion_mnist(fashion_mnist_dir(), "test") : LabelledImages{};
    std::unique_ptr<Vlm> dense;
    if (!dense_dir.empty() && fs::exists(dense_dir)) dense = Vlm::load(dense_dir);
    h << "<h2 id=\"accuracy\">Accuracy</h2>";
    if (dual) {
        const EvalSet set = labelled_eval_set("fashion-mnist test", test, cfg, zero_shot_templates(), opt.eval_limit);
        const double after = zero_shot(*model, set, {}, job).value();
        const double before = dense ? zero_shot(*dense, set, {}, job).value() : -1;
        h << "<table><tr><th class=\"l\">model</th><th>zero-shot top-1 (" << set.size << " test images)</th></tr>";
        if (before >= 0) h << "<tr><td class=\"l\">dense</td><td>" << fmt("%.2f %%", before) << "</td></tr>";
        report["accuracy"] = {{"dense", before}, {"run", after}, {"images", set.size}};
        if (result.contains("recovery")) {
            // The pruned checkpoint recovery started from, scored here; a Plan pruned in memory has only
            // the recovery run's own figure (its eval_samples images).
            const std::string pruned_dir = plan.contains("recovery") ? plan["recovery"].value("pruned", std::string()) : "";
            const nlohmann::json top1 = result.value("zero_shot_top1", nlohmann::json::object());
            if (!pruned_dir.empty() && fs::exists(pruned_dir + "/config.json")) {
                const double pruned = zero_shot(*Vlm::load(pruned_dir), set, {}, job).value();
                h << "<tr><td class=\"l\">pruned, before recovery</td><td>" << fmt("%.2f %%", pruned) << "</td></tr>";
                report["accuracy"]["pruned"] = pruned;
            } else if (top1.contains("pruned")) {
                const int64_t n = plan.contains("recovery") ? plan["recovery"].value("eval_samples", int64_t{0}) : 0;
                h << "<tr><td class=\"l\">pruned, before recovery (the recovery run's figure on its " << n
                  << " test images)</td><td>" << fmt("%.2f %%", top1["pruned"].get<double>()) << "</td></tr>";
                report["accuracy"]["pruned"] = top1["pruned"];
                report["accuracy"]["pruned_images"] = n;
            }
            h << "<tr><td class=\"l\">recovered (this run)</td><td>" << fmt("%.2f %%", after) << "</td></tr></table>";
            report["accuracy"]["recovered"] = after;
        } else {
            h << "<tr><td class=\"l\">this run</td><td>" << fmt("%.2f %%", after) << "</td></tr></table>";
        }
    } else if (decoder && dense) {
        CalibrationOptions c = plan.contains("calibration")
                                   ? CalibrationOptions::read(JsonFields(plan["calibration"], run_dir + "/plan.json", "calibration"))
                                   : CalibrationOptions{};
        if (opt.kl_samples >= 0) c.samples = std::min(c.samples, opt.kl_samples);
        const std::string unavailable = calibration_unavailable(*dense, c);
        if (unavailable.empty()) {
            const EvalResult kl = next_token_kl(*model, *dense, calibration_batches(*dense, c, plan.value("seed", uint64_t{0})), job);
            report["next_token_kl"] = {{"mean", kl.metric("mean_kl")}, {"max", kl.metric("max_kl")},
                                       {"positions", static_cast<int64_t>(kl.metric("positions"))},
                                       {"samples", static_cast<int64_t>(kl.metric("samples"))}};
            h << "<p class=\"note\">The mean next-token KL to the dense model: KL(dense ‖ this run) of the next-token "
                 "distributions at every position of the run's calibration prompts, averaged over positions (nats; 0 = the "
                 "same predictions).</p><table><tr><th class=\"l\">measure</th><th>value</th></tr>"
              << "<tr><td class=\"l\">mean next-token KL</td><td>" << fmt("%.5f", kl.metric("mean_kl")) << "</td></tr>"
              << "<tr><td class=\"l\">largest at one position</td><td>" << fmt("%.5f", kl.metric("max_kl")) << "</td></tr>"
              << "<tr><td class=\"l\">positions / prompts</td><td>" << static_cast<int64_t>(kl.metric("positions")) << " / "
              << static_cast<int64_t>(kl.metric("samples")) << "</td></tr></table>";
        } else {
            h << "<p class=\"note\">No next-token KL: the calibration prompts cannot be built (" << escape(unavailable) << ").</p>";
        }
    }
    if (decoder && dense && prompts_unavailable(*dense).empty()) {
        // The Plan's evaluation task on the built-in questions, both models on the same ones (what
        // keeps the calibration prompts from being built, a tokenizer, keeps questions too).
        const EvaluationOptions e = plan.contains("evaluation")
                                        ? EvaluationOptions::read(JsonFields(plan["evaluation"], run_dir + "/plan.json", "evaluation"))
                                        : EvaluationOptions{};
        const VqaKind kind = *vqa_kind_from_name(e.task_for(true));
        const LabelledImages questions_test = load_fashion_mnist(fashion_mnist_dir(), "test");
        const VqaSet qs = fashion_mnist_vqa(questions_test, kind, opt.questions);
        VqaEvalOptions run_opt;
        run_opt.dense = dense.get();
        const VqaEvalResult d = evaluate_vqa(*dense, qs, {}, job), m = evaluate_vqa(*model, qs, run_opt, job);
        h << "<h2 id=\"questions\">Questions</h2><p class=\"note\">" << qs.items.size() << " " << vqa_kind_name(kind)
          << " questions about the first " << opt.questions << " Fashion-MNIST test images, answered greedily; asked as <code>"
          << escape(d.records.front().prompt) << "</code>.</p><table><tr><th class=\"l\">metric</th><th>dense</th><th>this run</th></tr>";
        nlohmann::json dense_metrics = nlohmann::json::object(), run_metrics = nlohmann::json::object();
        for (const auto& [name, value] : m.metrics.metrics) {
            run_metrics[name] = value;
            double dv = 0;
            bool has = false;
            for (const auto& [dn, v] : d.metrics.metrics)
                if (dn == name) dv = v, has = true;
            if (has) dense_metrics[name] = dv;
            h << "<tr><td class=\"l\">" << escape(name) << "</td><td>" << (has ? fmt("%.4f", dv) : std::string("–")) << "</td><td>"
              << fmt("%.4f", value) << "</td></tr>";
        }
        h << "</table><table><tr><th>image</th><th class=\"l\">question</th><th class=\"l\">reference</th>"
             "<th class=\"l\">dense</th><th class=\"l\">this run</th></tr>";
        nlohmann::json examples = nlohmann::json::array();
        for (size_t i = 0; i < qs.items.size() && static_cast<int>(i) < opt.answers_shown; ++i) {
            const VqaItem& q = qs.items[i];
            h << "<tr><td>" << png_img(labelled_image_rgb(questions_test, q.image_index), "test image " + std::to_string(q.image_index), 84)
              << "</td><td class=\"l\">" << escape(q.question) << "</td><td class=\"l\">" << escape(q.answers.front())
              << "</td><td class=\"l\">" << escape(d.records[i].answer) << "</td><td class=\"l\">" << escape(m.records[i].answer)
              << "</td></tr>";
            examples.push_back({{"image", q.image_index}, {"question", q.question}, {"reference", q.answers.front()},
                                {"dense", d.records[i].answer}, {"run", m.records[i].answer}});
        }
        h << "</table>";
        report["questions"] = {{"task", vqa_kind_name(kind)}, {"images", opt.questions}, {"questions", qs.items.size()},
                               {"prompt", d.records.front().prompt}, {"metrics", {{"dense", dense_metrics}, {"run", run_metrics}}},
                               {"examples", examples}};
    } else if (decoder) {
        h << "<p class=\"note\">No next-token KL: the dense checkpoint <code>" << escape(dense_dir)
          << "</code> this run was pruned from is not there to compare with (no next-token KL, no questions).</p>";
    } else if (!dual) {
        h << "<p class=\"note\">Zero-shot evaluation needs a dual encoder; this is " << escape(model->map().family) << ".</p>";
    }

    // Curves and sensitivity from a sweep
    h << "<h2 id=\"curves\">Score vs sparsity</h2>";
    const std::string sweep_path = opt.sweep_dir + "/sweep.json";
    const nlohmann::json sweep = opt.sweep_dir.empty() ? nlohmann::json() : read_json_file(sweep_path);
    const SweepResult r = opt.sweep_dir.empty() ? SweepResult{} : SweepResult::from_json(sweep, sweep_path);
    const std::string foreign = opt.sweep_dir.empty() ? "" : sweep_mismatch(r, dense_dir);
    if (!foreign.empty()) {
        h << "<p class=\"note\">The sweep in <code>" << escape(opt.sweep_dir) << "</code> is left out: " << escape(foreign) << ".</p>";
    } else if (!opt.sweep_dir.empty()) {
        const bool tokens = r.tokens_pruned();
        h << "<table><tr><th class=\"l\">point</th><th>target</th><th>achieved</th><th>" << escape(r.metric_label()) << "</th><th>nonzero params</th>"
          << (tokens ? "<th>MFLOPs / sample</th>" : "") << "</tr>";
        bool sensitivity = false;
        for (const SweepPoint& p : r.points) {
            h << "<tr><td class=\"l\">" << escape(p.name) << "</td><td>" << fmt("%.3f", p.sparsity) << "</td><td>"
              << fmt("%.4f", p.achieved) << "</td><td>" << fmt("%.4f", p.accuracy) << "</td><td>" << p.params_nonzero
              << "</td>" << (tokens ? "<td>" + fmt("%.1f", p.flops / 1e6) + "</td>" : "") << "</tr>";
            sensitivity = sensitivity || !p.block.empty();
        }
        h << "</table>";
        if (sensitivity) {
            h << "<h2 id=\"sensitivity\">Sensitivity</h2><table><tr><th class=\"l\">block pruned alone</th>"
                 "<th>drop in " << escape(r.metric_label()) << "</th></tr>";
            for (const SweepPoint& p : r.points)
                if (!p.block.empty())
                    h << "<tr><td class=\"l\">" << escape(p.block) << "</td><td>" << fmt("%.4f", r.drop(p.accuracy))
                      << "</td></tr>";
            h << "</table>";
        }
        const cv::Mat curves = render_sweep_curves(r, r.metric_label() + " vs sparsity");
        if (!curves.empty()) h << "<p>" << png_img(curves, "score vs sparsity", 800) << "</p>";
        if (!r.points.empty()) {
            h << "<h2 id=\"pareto\">Pareto front</h2><p>"
              << png_img(render_pareto(r, ParetoCost::Params, r.metric_label() + " vs nonzero parameters"), "Pareto front vs parameters", 800);
            if (tokens)
                h << png_img(render_pareto(r, ParetoCost::Flops, r.metric_label() + " vs FLOPs per sample"), "Pareto front vs FLOPs", 800);
            h << "</p>";
        }
        report["sweep"] = sweep;
    } else {
        h << "<p class=\"note\">No sweep given (prunestudio-cli sweep, then report --sweep DIR).</p>";
    }

    // Token heatmaps
    h << "<h2 id=\"heatmaps\">Token heatmaps</h2>";
    if (dual && opt.heatmaps > 0) {
        VlmInputs in;
        in.pixel_values = preprocess_gray_batch(test.images.slice(0, 0, opt.heatmaps), cfg);
        const int last = model->towers()[0].num_blocks - 1;
        const bool cls = model->capabilities().vision_cls;
        const auto grids = image_token_importance(*model, in, last, cls ? TokenMetric::Cls : TokenMetric::Received);
        h << "<p class=\"note\">" << (cls ? "[CLS]-attention" : "Attention received") << " at the last vision block (block " << last
          << "); hatched: the half run-time pruning at keep 0.5 would drop.</p><p>";
        for (size_t i = 0; i < grids.size(); ++i) {
            TokenGrid g = grids[i];
            mark_dropped(g, 0.5);
            const std::string label = fashion_mnist_classes()[test.labels[static_cast<int64_t>(i)].item<int64_t>()];
            h << png_img(render_token_heatmap(model_view(in, static_cast<int64_t>(i), cfg), g), label, 200) << " ";
        }
        h << "</p>";
        report["heatmaps"] = static_cast<int>(grids.size());
    }

    // Speed, measured
    h << "<h2 id=\"speed\">Speed</h2>";
    const bool size_only = pattern != "structured";
    if (dual) {
        at::NoGradGuard no_grad;
        VlmInputs in;
        in.pixel_values = preprocess_batch(std::vector<cv::Mat>(opt.latency_batch, cv::Mat::zeros(cfg.height, cfg.width, CV_8UC3)), cfg);
        const double run_s = median_seconds([&] { model->run_tower(0, in); }, opt.latency_repeats);
        const double dense_s = dense ? median_seconds([&] { dense->run_tower(0, in); }, opt.latency_repeats) : -1;
        h << "<table><tr><th class=\"l\">vision tower, batch " << opt.latency_batch << "</th><th>median of "
          << opt.latency_repeats << "</th></tr>";
        if (dense_s > 0) h << "<tr><td class=\"l\">dense</td><td>" << fmt("%.1f ms", 1000 * dense_s) << "</td></tr>";
        h << "<tr><td class=\"l\">this run</td><td>" << fmt("%.1f ms", 1000 * run_s) << "</td></tr></table>";
        if (size_only)
            h << "<p><span class=\"tag\">size only</span> " << escape(pattern)
              << " sparsity is stored as zeros in dense tensors: on this hardware the kernels still multiply them, so "
                 "the pruned model is not faster (2:4 needs GPU sparse kernels; structured pruning removes the work).</p>";
        report["speed"] = {{"dense_seconds", dense_s}, {"run_seconds", run_s}, {"batch", opt.latency_batch}, {"size_only", size_only}};
    }

    // Timings and machine
    const RuntimeInfo rt = runtime_info();
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::time_t now = std::time(nullptr);
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    h << "<h2 id=\"machine\">Timings and machine</h2><table>"
      << "<tr><td class=\"l\">pruning</td><td>" << fmt("%.1f s", result.value("seconds", 0.0)) << "</td></tr>"
      << "<tr><td class=\"l\">this report</td><td>" << fmt("%.1f s", seconds) << "</td></tr>"
      << "<tr><td class=\"l\">machine</td><td>" << escape(host) << ", " << std::thread::hardware_concurrency() << " cores, "
      << escape(rt.default_device) << "</td></tr>"
      << "<tr><td class=\"l\">torch</td><td>" << escape(rt.torch_version) << "</td></tr>"
      << "<tr><td class=\"l\">written</td><td>" << when << "</td></tr></table>";
    h << "</body></html>\n";
    report["machine"] = {{"host", host}, {"cores", std::thread::hardware_concurrency()}, {"device", rt.default_device},
                         {"torch", rt.torch_version}};
    report["seconds"] = {{"pruning", result.value("seconds", 0.0)}, {"report", seconds}};
    report["written"] = when;

    write_file_atomic(html_path, h.str());
    write_file_atomic((fs::path(html_path).parent_path() / "report.json").string(), report.dump(2) + "\n");
    return report;
}

}  // namespace ps
