// Checks the generative families' tests share, on a reference a script wrote with transformers:
// greedy generation and streaming, pruned exports that transformers reloads, questions answered
// batched as one at a time, and edited configs that must be refused.
#pragma once
#include <QDir>
#include <QFile>
#include <QTest>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "core/eval/vqa_eval.h"
#include "core/data/vqa_file.h"
#include "core/io/safetensors_writer.h"
#include "core/model/causal_vlm.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/report/export.h"
#include "core/token/token_pruning.h"
#include "tests/core/model_parity.h"

namespace ps_test {

// Greedy answers of the reference's left-padded batch (generate.*) and of its prompt
// (generate.both), and the model loaded streamed giving `logits` on that prompt. Reports through QTest.
inline void check_generation_and_streaming(const ps::Vlm& model, const Reference& ref, const at::Tensor& logits) {
    const auto* causal = dynamic_cast<const ps::CausalVlm*>(&model);
    QVERIFY(causal);
    const ps::VlmInputs batch = reference_inputs(ref, "generate.");
    const at::Tensor& want = ref["generate.ids"];
    const auto answers = causal->generate_batch(batch, static_cast<int>(want.size(1)), std::nullopt);
    for (int64_t b = 0; b < want.size(0); ++b) QCOMPARE(answers[static_cast<size_t>(b)], ids_of(want[b]));
    const ps::VlmInputs in = reference_inputs(ref);
    QCOMPARE(causal->generate(in, static_cast<int>(ref["generate.both"].size(1)), std::nullopt), ids_of(ref["generate.both"]));
    ps::LoadOptions streaming;  // one block resident
    streaming.streaming = true;
    QVERIFY(ps::Vlm::load(ref.dir.toStdString(), streaming)->forward(in).logits.equal(logits));
}

// Image tokens chosen before the language model on the reference prompt, by each attention-free
// token method: keep 1.0 leaves the logits bit-identical; keep 0.5 shortens the prompt by what each
// image drops (floor(n/2) of its n tokens: at most half the image tokens, more than a quarter),
// and greedy generation on the shortened prompt starts with the forward's last-position argmax.
// Reports through QTest.
inline void check_tokens_before_the_language_model(const Reference& ref) {
    auto model = ps::Vlm::load(ref.dir.toStdString());
    const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
    const ps::VlmInputs in = reference_inputs(ref);
    const at::Tensor dense = model->forward(in).logits;
    std::vector<ps::StageState> done;
    const int language = ps::tower_index(*model, ps::Modality::Language);
    for (int t = 0; t < language; ++t) done.push_back(model->run_tower(t, in, done));
    const int64_t images = model->embed(language, in, done).image_slots.sum().item<int64_t>();
    for (const char* method : {"random", "dart", "divprune"}) {
        ps::TokenOptions t;
        t.method = method;
        ps::install_token_pruning(*model, ps::TokenPruning::from_plan(t, *model));
        QVERIFY2(model->forward(in).logits.equal(dense), method);
        t.keep = 0.5;
        ps::install_token_pruning(*model, ps::TokenPruning::from_plan(t, *model));
        const at::Tensor logits = model->forward(in).logits;
        const int64_t dropped = in.input_ids.size(1) - logits.size(1);
        QVERIFY2(dropped <= images / 2 && 4 * dropped > images,
                 qPrintable(QString("%1: %2 of %3 image tokens dropped").arg(method).arg(dropped).arg(images)));
        const auto answer = causal->generate(in, 3, std::nullopt);
        QCOMPARE(answer.front(), logits[0][-1].argmax().item<int64_t>());
    }
}

// The language model of the reference checkpoint pruned (Wanda 2:4, then half of each MLP's width
// with the config rewritten), exported, and reloaded by transformers (tests/python/hf_check.py) with
// our pruned model's logits on the reference's prompt. Reports through QTest.
inline void check_pruned_exports_reload(const Reference& ref) {
    const std::string dir = ref.dir.toStdString(), inputs = dir + "/inputs.safetensors";
    ps::NamedTensors saved;
    for (const char* name : {"input_ids", "pixel_values", "image_grid_thw", "image_sizes", "token_type_ids"})
        if (ref.has(name)) saved.emplace_back(name, ref[name]);
    ps::save_safetensors(inputs, saved);
    const ps::VlmInputs in = reference_inputs(ref);
    for (const char* method : {"wanda", "width"}) {
        ps::Plan p;
        p.model = dir;
        p.method = method;
        p.pattern = std::string(method) == "wanda" ? "2:4" : "structured";
        p.sparsity = 0.5;
        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.0}, {"projector", 0.0}, {"language", 0.5}};
        p.calibration.samples = 8;
        p.calibration.batch_size = 4;
        const std::string pruned = dir + "/" + method, out = pruned + "-hf";
        ps::run_prune(p, pruned, {});
        ps::export_checkpoint(pruned, out, {}, {});
        const at::Tensor ours = ps::Vlm::load(pruned)->forward(in).logits;
        QVERIFY2(diff(ours, ref["logits"]).first > 1e-3, "the pruned model answers as the dense one");
        QVERIFY(ours.equal(ps::Vlm::load(out)->forward(in).logits));
        const std::string theirs = out + "/reference-logits.safetensors";
        const auto py = run_python("hf_check.py", {"logits", QString::fromStdString(out), QString::fromStdString(inputs),
                                                   QString::fromStdString(theirs)});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const double d = diff(ours, ps::load_safetensors(theirs).at(0).second).first;
        qInfo("%s %s: transformers reloads the export, logits max abs diff %.3g", QTest::currentDataTag(), method, d);
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
    }
}

// The question file `questions` answered greedily (5 new tokens) in batches of `batch` and one
// question at a time: the same answers, answer NLLs within 1e-4 relative. `alone` gets the
// one-at-a-time result. Reports through QTest.
inline void check_batched_as_alone(const ps::Vlm& model, const QString& questions, int batch, ps::VqaEvalResult& alone) {
    const ps::VqaSet set = ps::load_vqa_file(questions.toStdString());
    ps::VqaEvalOptions opt;
    opt.batch_size = batch;
    opt.max_new_tokens = 5;
    const ps::VqaEvalResult batched = ps::evaluate_vqa(model, set, opt, ps::JobControl{});
    opt.batch_size = 1;
    alone = ps::evaluate_vqa(model, set, opt, ps::JobControl{});
    QCOMPARE(batched.records.size(), set.items.size());
    for (size_t i = 0; i < batched.records.size(); ++i) {
        QCOMPARE(batched.records[i].answer, alone.records[i].answer);
        QVERIFY2(std::abs(batched.records[i].nll - alone.records[i].nll) <= 1e-4 * std::abs(alone.records[i].nll),
                 qPrintable(QString("%1 alone, %2 batched").arg(alone.records[i].nll).arg(batched.records[i].nll)));
    }
}

// The checkpoint `dir` copied to `bad` (its weights) with config.json edited: each dotted field
// ("text_config.model_type") set to its JSON value. What loading it throws; empty when it loads.
inline QString load_error_with(const QString& dir, const QString& bad, const QList<QPair<QString, QString>>& edits) {
    QDir().mkpath(bad);
    QFile::remove(bad + "/model.safetensors");
    QFile::copy(dir + "/model.safetensors", bad + "/model.safetensors");
    nlohmann::json config = nlohmann::json::parse(read_bytes(dir + "/config.json").toStdString());
    for (const auto& [field, value] : edits) {
        nlohmann::json* at = &config;
        QStringList path = field.split('.');
        const std::string last = path.takeLast().toStdString();
        for (const QString& p : path) at = &(*at)[p.toStdString()];
        (*at)[last] = nlohmann::json::parse(value.toStdString());
    }
    write_bytes(bad + "/config.json", QByteArray::fromStdString(config.dump()));
    try {
        ps::Vlm::load(bad.toStdString());
    } catch (const ps::Error& e) {
        return QString(e.what());
    }
    return {};
}

// Through prunestudio-cli on the checkpoint `dir`, with a Plan written to dir/plan.json (SparseGPT
// at 30 % for the vision tower and 50 % for the language model, 8 calibration samples, four
// SparseLoRA steps): prune, recover (every pruned weight stays zero), a sweep of Wanda and SparseGPT
// at 30 % and 60 % on 8 questions (sparsity rises with the target), and an export of the recovered
// model that transformers loads. Reports through QTest.
inline void check_loop_through_cli(const QString& dir) {
    const QString plan = dir + "/plan.json";
    write_bytes(plan, QByteArray::fromStdString(nlohmann::json{
        {"model", dir.toStdString()}, {"method", "sparsegpt"}, {"pattern", "unstructured"}, {"sparsity", 0.5},
        {"calibration", {{"samples", 8}, {"batch_size", 4}}},
        {"allocation", {{"kind", "modality"}, {"vision", 0.3}, {"language", 0.5}}},
        {"recovery", {{"mode", "sparselora"}, {"max_steps", 4}, {"batch_size", 4}, {"eval_every", 2}, {"eval_samples", 8},
                      {"data_fraction", 0.01}, {"checkpoint_every", 2}}}}.dump()));
    auto ok = [](const Run& r) { return r.exit_code == 0 ? QByteArray() : r.err; };
    QCOMPARE(ok(run_cli({"prune", "--plan", plan, "--out", dir + "/run"})), QByteArray());
    QCOMPARE(ok(run_cli({"recover", "--plan", plan, "--pruned", dir + "/run", "--out", dir + "/recovered"})), QByteArray());
    const nlohmann::json result = nlohmann::json::parse(read_bytes(dir + "/recovered/result.json").toStdString());
    const nlohmann::json& masked = result.at("masked_linears");
    QCOMPARE(masked.at("nonzero_in_mask").get<int64_t>(), int64_t{0});
    QCOMPARE(masked.at("nnz_merged").get<int64_t>(), masked.at("nnz_pruned").get<int64_t>());
    QVERIFY(masked.at("sparsity_pruned").get<double>() > 0.3);
    QCOMPARE(result.at("recovery").at("steps").get<int>(), 4);
    for (const auto& step : result.at("recovery").at("log")) QVERIFY(std::isfinite(step.at("loss").get<double>()));

    QCOMPARE(ok(run_cli({"sweep", "--plan", plan, "--out", dir + "/sweep", "--methods", "wanda,sparsegpt", "--sparsities",
                         "0.3,0.6", "--limit", "8"})),
             QByteArray());
    const nlohmann::json sweep = nlohmann::json::parse(read_bytes(dir + "/sweep/sweep.json").toStdString());
    QCOMPARE(sweep.at("points").size(), size_t{4});
    std::map<std::string, std::vector<double>> achieved;
    for (const auto& point : sweep.at("points")) achieved[point.at("method").get<std::string>()].push_back(point.at("achieved").get<double>());
    for (const auto& [method, a] : achieved) QVERIFY2(a.size() == 2 && 0 < a[0] && a[0] < a[1], method.c_str());

    QCOMPARE(ok(run_cli({"export", dir + "/recovered", "--out", dir + "/recovered-hf"})), QByteArray());
    const auto load = run_python("hf_check.py", {"load", dir + "/recovered-hf"});
    QVERIFY2(load.exit_code == 0, load.out.constData());
}

}  // namespace ps_test
