// app/cli/main.cpp: `inspect` output against transformers, every command on the default model, and
// bad inputs ending in exit code 1 with exactly one stderr line naming the file (the corpus of
// tests/data/bad is test_bad_inputs').
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/job/plan.h"
#include "core/model/demo_checkpoint.h"
#include "tests/test_support.h"

class TestCli : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString models_;

private Q_SLOTS:
    void initTestCase() {
        models_ = tmp_.filePath("models");
        QVERIFY(QDir().mkpath(models_));
        auto r = ps_test::run_python("tiny_models.py", {models_, "clip", "llava", "llava_new"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void inspect_json_matches_transformers_data() {
        QTest::addColumn<QString>("family");
        QTest::newRow("clip") << "clip";
        QTest::newRow("llava (hub layout)") << "llava";
        QTest::newRow("llava (module layout)") << "llava_new";
    }

    void inspect_json_matches_transformers() {
        QFETCH(QString, family);
        const QString dir = models_ + "/" + family;
        auto r = ps_test::run_cli({"inspect", dir, "--json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto got = nlohmann::json::parse(r.out.toStdString());
        std::map<std::string, std::string> listed;
        for (const auto& l : got["linears"]) listed[l["name"].get<std::string>()] = l["modality"].get<std::string>();
        const auto want = nlohmann::json::parse(ps_test::read_bytes(dir + "/expected.json").toStdString())
                              .get<std::map<std::string, std::string>>();
        QCOMPARE(listed, want);
        QVERIFY(got["modalities"]["vision"]["params"].get<uint64_t>() > 0);
    }

    void inspect_text_on_demo() {
        const QString dir = tmp_.filePath("demo");
        ps::write_demo_checkpoint(dir.toStdString());
        auto r = ps_test::run_cli({"inspect", dir});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY(r.out.contains("LLaVA-1.5 (model_type llava)"));
        QVERIFY(r.out.contains("linears (69)"));
        QVERIFY(r.out.contains("language_model.model.layers.5.mlp.down_proj"));
        QVERIFY(r.err.isEmpty());
    }

    void run_dual_encoder_matches_transformers() {
        const QString dir = tmp_.filePath("run_dual");
        auto ref = ps_test::run_python("run_reference.py", {dir, "dual"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        const auto want = nlohmann::json::parse(ref.out.toStdString());
        QStringList args{"run", dir, "--image", dir + "/image.png"};
        for (const auto& t : want["texts"]) args << "--text" << QString::fromStdString(t.get<std::string>());
        auto r = ps_test::run_cli(args);
        QVERIFY2(r.exit_code == 0, r.err.constData());
        // The image's row: "<path>  logit (prob)  logit (prob) ..."
        const QString row = QString::fromUtf8(r.out).split('\n').filter("image.png").value(0);
        const QStringList cells = row.split(' ', Qt::SkipEmptyParts);
        const auto& logits = want["logits_per_image"][0];
        QCOMPARE(cells.size(), 1 + 2 * static_cast<int>(logits.size()));
        for (size_t t = 0; t < logits.size(); ++t)
            QVERIFY2(std::abs(cells[1 + 2 * static_cast<int>(t)].toDouble() - logits[t].get<double>()) <= 1e-4, qPrintable(row));
    }

    void run_llava_matches_transformers() {
        const QString dir = tmp_.filePath("run_llava");
        auto ref = ps_test::run_python("run_reference.py", {dir, "llava"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        const auto want = nlohmann::json::parse(ref.out.toStdString());
        auto r = ps_test::run_cli({"run", dir, "--image", dir + "/image.png", "--text",
                                   QString::fromStdString(want["question"].get<std::string>()), "--max-new-tokens",
                                   QString::number(want["ids"].size())});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QCOMPARE(QString::fromUtf8(r.out), QString::fromStdString(want["answer"].get<std::string>()) + "\n");
    }

    void run_bad_inputs() {
        const QString image = tmp_.filePath("not_an_image.png");
        ps_test::write_bytes(image, "this is text, not a PNG");
        const QString dual = tmp_.filePath("run_bad_dual");
        auto ref = ps_test::run_python("run_reference.py", {dual, "dual"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        auto r = ps_test::run_cli({"run", dual, "--image", image, "--text", "hi"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + image.toUtf8() + ": cannot decode image"), r.err.constData());
        QCOMPARE(QString::fromUtf8(r.err).count('\n'), 1);

        const QString demo = tmp_.filePath("demo_without_tokenizer");
        ps::write_demo_checkpoint(demo.toStdString());
        r = ps_test::run_cli({"run", demo, "--image", dual + "/image.png", "--text", "hi"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + demo.toUtf8()) && r.err.contains("no tokenizer files"), r.err.constData());
        QCOMPARE(QString::fromUtf8(r.err).count('\n'), 1);
    }

    void usage_errors() {
        QCOMPARE(ps_test::run_cli({}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"frobnicate"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"inspect"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"inspect", "a", "b"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"make-demo", tmp_.filePath("x"), "--seed", "abc"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--task", "frobnicate"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--limit", "0"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"train-default", "--epochs", "-1"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"train-default", "--lr", "fast"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"assemble-default"}).exit_code, 2);
        auto help = ps_test::run_cli({"--help"});
        QCOMPARE(help.exit_code, 0);
        QVERIFY(help.out.contains("inspect DIR"));
        QVERIFY(help.out.contains("train-default"));
        QCOMPARE(ps_test::run_cli({"eval", "--help"}).exit_code, 0);
    }

    void eval_the_default_model() {
        auto r = ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--task", "zero-shot", "--task", "retrieval", "--limit", "300", "--json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j.size(), size_t(2));
        QCOMPARE(j[0]["task"].get<std::string>(), std::string("zero-shot"));
        QCOMPARE(j[0]["metrics"]["images"].get<double>(), 300.0);
        QVERIFY(j[0]["metrics"]["top1"].get<double>() > 70.0);
        QCOMPARE(j[0]["per_class"].size(), size_t(10));
        QCOMPARE(j[1]["task"].get<std::string>(), std::string("retrieval"));
        QVERIFY(r.err.contains("zero-shot: 300/300"));  // progress on stderr
        auto kl = ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--task", "kl", "--reference", PS_DEFAULT_MODEL, "--limit", "50"});
        QVERIFY2(kl.exit_code == 0, kl.err.constData());
        QVERIFY2(kl.out.contains("mean_kl                      0.0000"), kl.out.constData());
    }

    void eval_bad_data() {
        const QString dir = tmp_.filePath("captions");
        QVERIFY(QDir().mkpath(dir));
        ps_test::write_bytes(dir + "/captions.jsonl", "{\"image\": \"missing.png\", \"caption\": \"a bag\"}\n");
        auto r = ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--data", dir});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + dir.toUtf8() + "/captions.jsonl:1: image 'missing.png' not found"), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        const QString empty = tmp_.filePath("empty");
        QVERIFY(QDir().mkpath(empty));
        r = ps_test::run_cli({"eval", PS_DEFAULT_MODEL, "--data", empty});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("no captions.jsonl"), r.err.constData());
    }

    void eval_generative_question_files() {
        // A tiny LLaVA (half its language weights zeroed) on a user's multiple-choice file, with the
        // dense model as reference: the answers file holds transformers' greedy answers.
        const QString dir = tmp_.filePath("vqa");
        auto ref = ps_test::run_python("vqa_eval_reference.py", {dir});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        const auto want = nlohmann::json::parse(ref.out.toStdString())["choice"];
        const QString answers = dir + "/answers.jsonl";
        auto r = ps_test::run_cli({"eval", dir + "/pruned", "--data", dir + "/choice.jsonl", "--images", dir + "/images",
                                   "--reference", dir + "/dense", "--answers", answers, "--batch", "2", "--json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j[0]["task"].get<std::string>(), std::string("choice"));
        QCOMPARE(j[0]["headline"].get<std::string>(), std::string("letter_accuracy"));
        for (const char* m : {"letter_accuracy", "likelihood_accuracy", "answer_nll", "answer_kl"}) QVERIFY2(j[0]["metrics"].contains(m), m);
        QCOMPARE(j[0]["prompt"].get<std::string>(), want[0]["prompt"].get<std::string>());
        const QList<QByteArray> lines = ps_test::read_bytes(answers).trimmed().split('\n');
        QCOMPARE(lines.size(), static_cast<qsizetype>(want.size()));
        for (qsizetype i = 0; i < lines.size(); ++i)
            QCOMPARE(nlohmann::json::parse(lines[i].toStdString())["text"].get<std::string>(), want[i]["answer"].get<std::string>());

        // A malformed line: one error line naming the file and line, and the answers file as it was.
        ps_test::write_bytes(dir + "/bad.jsonl", "{\"image\": \"0.png\", \"question\": \"Q?\", \"answers\": \"x\"}\n{\"image\": \n");
        r = ps_test::run_cli({"eval", dir + "/pruned", "--data", dir + "/bad.jsonl", "--images", dir + "/images", "--answers", answers});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + dir.toUtf8() + "/bad.jsonl:2: not valid JSON"), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QCOMPARE(ps_test::read_bytes(answers).trimmed().split('\n').size(), lines.size());
        // Options that belong to question files, and more than one task on a file, are refused.
        QCOMPARE(ps_test::run_cli({"eval", dir + "/pruned", "--annotations", answers}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"eval", dir + "/pruned", "--data", dir + "/choice.jsonl", "--task", "open", "--task", "choice"}).exit_code, 2);
    }

    void prune_with_a_preset() {
        const QString preset = QString(PS_SOURCE_DIR) + "/resources/presets/wanda-2-4-language-only.json";
        const QString plan = tmp_.filePath("plan.json");
        auto j = nlohmann::json::parse(ps_test::read_bytes(preset).toStdString());
        j["calibration"]["samples"] = 32;
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        const QString out = tmp_.filePath("pruned-24");
        auto r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("language   sparsity 0.5000"), r.out.constData());
        QVERIFY2(r.out.contains("vision     sparsity 0.0000"), r.out.constData());  // language-only: vision kept dense
        const auto result = nlohmann::json::parse(ps_test::read_bytes(out + "/result.json").toStdString());
        QCOMPARE(result["pattern"].get<std::string>(), std::string("2:4"));
        QCOMPARE(result["tensors"].size(), size_t(60));
        int pruned = 0;
        for (const auto& t : result["tensors"]) pruned += t["target"].get<double>() > 0;
        QCOMPARE(pruned, 36);
        auto kl = ps_test::run_cli({"eval", out, "--task", "kl", "--reference", PS_DEFAULT_MODEL, "--limit", "100", "--json"});
        QVERIFY2(kl.exit_code == 0, kl.err.constData());
        QVERIFY(nlohmann::json::parse(kl.out.toStdString())[0]["metrics"]["mean_kl"].get<double>() > 0.0);

        // Bad plans fail before any work and write nothing.
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", tmp_.filePath("no-model"), "--out", tmp_.filePath("x")});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + tmp_.filePath("no-model").toUtf8()), r.err.constData());
        j["sparsity"] = 1.2;
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", tmp_.filePath("x")});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + plan.toUtf8() + ": sparsity: 1.2"), r.err.constData());
        j["sparsity"] = 0.5;
        j["pattern"] = "3:5";  // 5 does not divide 128 or 384
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", tmp_.filePath("x")});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(!QDir(tmp_.filePath("x")).exists());
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out});  // existing output
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("already exists"), r.err.constData());
    }

    // `recover` with the recovery preset on a pruned checkpoint: a short SparseLoRA run writes the
    // merged checkpoint with the mask kept; a checkpoint without masks is one error line.
    void recover_a_pruned_checkpoint() {
        const QString pruned = tmp_.filePath("pruned-24");  // from prune_with_a_preset
        QVERIFY(QFile::exists(pruned + "/masks.safetensors"));
        auto j = nlohmann::json::parse(
            ps_test::read_bytes(QString(PS_SOURCE_DIR) + "/resources/presets/sparselora-kl-wanda-70.json").toStdString());
        j["recovery"]["max_steps"] = 2;
        j["recovery"]["eval_samples"] = 100;
        const QString plan = tmp_.filePath("recover.json");
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        const QString out = tmp_.filePath("recovered");
        auto r = ps_test::run_cli({"recover", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--pruned", pruned, "--out", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("recovery sparselora:"), r.out.constData());
        QVERIFY2(r.out.contains("(0 nonzeros where the mask prunes)"), r.out.constData());
        const auto result = nlohmann::json::parse(ps_test::read_bytes(out + "/result.json").toStdString());
        QCOMPARE(result["recovery"]["steps"].get<int64_t>(), int64_t(2));
        QCOMPARE(result["masked_linears"]["nnz_merged"].get<int64_t>(), result["masked_linears"]["nnz_pruned"].get<int64_t>());
        QVERIFY(QFile::exists(out + "/masks.safetensors"));

        r = ps_test::run_cli({"recover", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--pruned", PS_DEFAULT_MODEL, "--out",
                              tmp_.filePath("y")});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.startsWith("error: " + QByteArray(PS_DEFAULT_MODEL) + "/masks.safetensors: missing"), r.err.constData());
        QVERIFY(!QDir(tmp_.filePath("y")).exists());
    }

    // `tokens` writes a heatmap PNG of a garment-like image (a bright block on black) with the
    // dropped tokens marked, and names a bad block or metric in one line; a CoMP Plan prunes jointly,
    // and `eval --plan` runs the result with the token pruning its plan.json records.
    void tokens_heatmap_and_joint_pruning() {
        cv::Mat image(28, 28, CV_8UC3, cv::Scalar(0, 0, 0));
        image(cv::Rect(7, 7, 14, 14)).setTo(cv::Scalar(220, 220, 220));
        const QString png = tmp_.filePath("garment.png"), heat = tmp_.filePath("heat.png");
        QVERIFY(cv::imwrite(png.toStdString(), image));
        auto r = ps_test::run_cli({"tokens", PS_DEFAULT_MODEL, "--image", png, "--out", heat, "--keep", "0.5"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("cls importance at vision block 3: 4x4 tokens"), r.out.constData());
        QVERIFY2(r.out.contains("keep 0.50 drops 8"), r.out.constData());
        const cv::Mat written = cv::imread(heat.toStdString());
        QVERIFY(written.rows >= 336 && written.cols == written.rows);

        r = ps_test::run_cli({"tokens", PS_DEFAULT_MODEL, "--image", png, "--out", tmp_.filePath("h2.png"), "--layer", "9"});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.contains("--layer: 9 is outside 0..3, the blocks of the scored tower"), r.err.constData());
        r = ps_test::run_cli({"tokens", PS_DEFAULT_MODEL, "--image", png, "--out", tmp_.filePath("h2.png"), "--metric", "text"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("needs a model with image tokens in its language sequence"), r.err.constData());
        QVERIFY(!QFile::exists(tmp_.filePath("h2.png")));

        auto j = nlohmann::json::parse(ps_test::read_bytes(QString(PS_SOURCE_DIR) + "/resources/presets/comp-joint-50.json").toStdString());
        j["calibration"]["samples"] = 16;
        j["joint"]["flops_reduction"] = 0.2;
        j["joint"]["step"] = 0.1;
        const QString plan = tmp_.filePath("comp.json"), out = tmp_.filePath("comp");
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("joint pruning: block FLOPs"), r.out.constData());
        const auto result = nlohmann::json::parse(ps_test::read_bytes(out + "/result.json").toStdString());
        QVERIFY(result["reduction"].get<double>() >= 0.2 - 1e-9 && result["reduction"].get<double>() <= 0.22);
        r = ps_test::run_cli({"eval", out, "--task", "zero-shot", "--limit", "100", "--plan", out + "/plan.json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    // `sweep` prunes and scores a small grid, writes sweep.json, the curves and the Pareto chart,
    // reruns from its cache, and names a bad range in one usage line; token keep ratios add the
    // FLOPs front.
    void sweep_a_small_grid() {
        auto j = nlohmann::json::parse(ps_test::read_bytes(QString(PS_SOURCE_DIR) + "/resources/presets/wanda-50-equal.json").toStdString());
        j["calibration"]["samples"] = 16;
        const QString plan = tmp_.filePath("sweep-plan.json"), out = tmp_.filePath("sweep");
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        const QStringList args = {"sweep", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out, "--methods",
                                  "magnitude,wanda", "--sparsities", "0.2:0.4:0.2", "--limit", "200"};
        auto r = ps_test::run_cli(args);
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("sweep: 4 points (5 run, 0 from the cache)"), r.out.constData());
        const auto sweep = nlohmann::json::parse(ps_test::read_bytes(out + "/sweep.json").toStdString());
        QCOMPARE(sweep["points"].size(), size_t(4));
        QCOMPARE(sweep["points"][1]["sparsity"].get<double>(), 0.4);
        QVERIFY(!cv::imread((out + "/curves.png").toStdString()).empty());
        QVERIFY(!cv::imread((out + "/pareto.png").toStdString()).empty());
        QVERIFY(!QFile::exists(out + "/pareto_flops.png"));  // no tokens pruned
        r = ps_test::run_cli(args);
        QVERIFY2(r.out.contains("(0 run, 5 from the cache)"), r.out.constData());
        r = ps_test::run_cli({"sweep", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out, "--sparsities", "0.5:0.1:0.1"});
        QCOMPARE(r.exit_code, 2);
        QVERIFY2(r.err.startsWith("prunestudio-cli: sweep: --sparsities needs A <= B and STEP > 0"), r.err.constData());
        // token keep ratios: the FLOPs front and its chart; keep ratios for a Plan that prunes no tokens are refused
        j["tokens"] = {{"vision", {{"2", 0.5}}}};
        const QString token_plan = tmp_.filePath("sweep-tokens.json"), token_out = tmp_.filePath("sweep-tokens");
        ps_test::write_bytes(token_plan, QByteArray::fromStdString(j.dump()));
        r = ps_test::run_cli({"sweep", "--plan", token_plan, "--model", PS_DEFAULT_MODEL, "--out", token_out, "--sparsities",
                              "0.3", "--keeps", "1,0.5", "--limit", "100"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("Pareto front (score vs FLOPs per sample)"), r.out.constData());
        QVERIFY(!cv::imread((token_out + "/pareto_flops.png").toStdString()).empty());
        r = ps_test::run_cli({"sweep", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", token_out, "--keeps", "0.5"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: keeps: the Plan prunes no tokens"), r.err.constData());
    }

    // `export` writes a Hugging Face folder from a pruned run; an existing folder needs --force; a
    // full disk leaves nothing half-written.
    void score_a_pruned_run() {
        const QString run = tmp_.filePath("pruned-24");  // from prune_with_a_preset
        auto r = ps_test::run_cli({"score", run, "--images", "100"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const QRegularExpression line("^zero-shot top-1 on 100 test images: (\\d+\\.\\d\\d) % \\(dense (\\d+\\.\\d\\d) %\\)\n$");
        const QRegularExpressionMatch m = line.match(QString::fromUtf8(r.out));
        QVERIFY2(m.hasMatch(), r.out.constData());
        const nlohmann::json kept = nlohmann::json::parse(ps_test::read_bytes(run + "/score.json").toStdString());
        QCOMPARE(m.captured(1), QString::number(kept["run"].get<double>(), 'f', 2));
        QCOMPARE(m.captured(2), QString::number(kept["dense"].get<double>(), 'f', 2));
        r = ps_test::run_cli({"score", run, "--images", "100"});  // read back, not scored again
        QVERIFY2(r.out.endsWith("(from score.json)\n"), r.out.constData());
        QCOMPARE(ps_test::run_cli({"score", run, "--images", "0"}).exit_code, 2);
    }

    void export_a_pruned_run() {
        const QString run = tmp_.filePath("pruned-24"), out = tmp_.filePath("exported");  // from prune_with_a_preset
        QVERIFY(QFile::exists(run + "/masks.safetensors"));
        auto r = ps_test::run_cli({"export", run, "--out", out, "--dtype", "bfloat16"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains(", bfloat16), method wanda, pattern 2:4, with masks"), r.out.constData());
        QVERIFY(QFile::exists(out + "/prunestudio_masks.safetensors"));
        r = ps_test::run_cli({"export", run, "--out", out});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.contains("already exists; pass --force to replace it"), r.err.constData());
        r = ps_test::run_cli({"export", run, "--out", out, "--force"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        r = ps_test::run_cli({"export", run, "--out", tmp_.filePath("e2"), "--dtype", "int4"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY(!QDir(tmp_.filePath("e2")).exists());

        // A full disk, played by a 1 MiB file-size limit (writes past it fail with EFBIG): one error
        // line naming the file; a fresh folder is absent, a --force over an existing one leaves the
        // old folder as it was; no temporary is left next to either.
        const QString full = tmp_.filePath("full");
        QDir().mkpath(full);
        const auto cramped = [&](const QStringList& args) {
            return ps_test::run_program("bash", QStringList{"-c", "trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"", PS_CLI} + args);
        };
        r = cramped({"export", run, "--out", full + "/fresh"});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.startsWith("error: ") && r.err.contains("File too large"), r.err.constData());
        QVERIFY(!QDir(full + "/fresh").exists());
        const QByteArray before = ps_test::read_bytes(out + "/model.safetensors");
        QVERIFY(QFile::rename(out, full + "/kept"));
        r = cramped({"export", run, "--out", full + "/kept", "--force"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY(ps_test::read_bytes(full + "/kept/model.safetensors") == before);
        QCOMPARE(QDir(full).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{"kept"});
    }

    // `methods` lists the built-ins and the RIA plugin the build puts next to the CLI; a plugin
    // method with the OWL allocation prunes from a Plan; a bad plugin path is one warning line.
    void methods_and_plugins() {
        auto r = ps_test::run_cli({"methods"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.err.isEmpty(), r.err.constData());
        const QList<QByteArray> lines = r.out.split('\n');
        const auto line_of = [&](const QByteArray& id) {
            for (const QByteArray& l : lines)
                if (l.startsWith("  " + id + " ")) return l;
            return QByteArray();
        };
        QVERIFY2(line_of("ria").endsWith(QByteArray("[plugin ") + PS_RIA_PLUGIN + "]"), r.out.constData());
        for (const char* id : {"magnitude", "wanda", "sparsegpt", "uniform", "modality", "ecoflap", "ecoflap-first-order", "owl",
                               "sensitivity"})
            QVERIFY2(line_of(id).endsWith("[built-in]"), id);
        // Each method's options: type, range, default and help, under the Plan section they are read from.
        for (const char* option : {"options (Plan \"ria\"):", "exponent         number in [0, 4], default 0.5: ",
                                   "options (Plan \"sparsegpt\"):", "percdamp         number in (0, 1), default 0.01: ",
                                   "options (Plan \"joint\"):", "flops_reduction  number in (0, 1), default 0.5: "})
            QVERIFY2(r.out.contains(option), option);

        const QString plan = tmp_.filePath("ria-owl.json");
        const nlohmann::json j = {{"name", "RIA with OWL"}, {"method", "ria"}, {"sparsity", 0.6},
                                  {"allocation", {{"kind", "owl"}}}, {"targets", {".*layer\\.[01]\\..*"}},
                                  {"calibration", {{"samples", 16}, {"batch_size", 16}}}};
        ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        const QString out = tmp_.filePath("ria-owl");
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto result = nlohmann::json::parse(ps_test::read_bytes(out + "/result.json").toStdString());
        QCOMPARE(result["method"].get<std::string>(), std::string("ria"));
        std::set<double> targets;
        for (const auto& t : result["tensors"]) targets.insert(t["target"].get<double>());
        QVERIFY(targets.size() > 2);  // OWL: one sparsity per block
        QVERIFY(std::abs(result["total"]["sparsity"].get<double>() - 0.6) < 0.01);

        const QString bad = tmp_.filePath("not-a-plugin.so");
        ps_test::write_bytes(bad, "garbage");
        qputenv("PRUNESTUDIO_PLUGIN_PATH", bad.toUtf8());
        r = ps_test::run_cli({"methods"});
        qunsetenv("PRUNESTUDIO_PLUGIN_PATH");
        QCOMPARE(r.exit_code, 0);
        QVERIFY2(r.err.startsWith("warning: plugin " + bad.toUtf8() + ": ") && r.err.count('\n') == 1, r.err.constData());
        QVERIFY(!r.out.contains("  ria "));  // the path replaces the default folder
        QVERIFY(r.out.contains("  owl "));
    }

    void allocate_then_prune_with_the_saved_allocation() {
        const QString preset = QString(PS_SOURCE_DIR) + "/resources/presets/owl-wanda-60.json";
        const QString plan = tmp_.filePath("owl-allocated.json");
        auto r = ps_test::run_cli({"allocate", "--plan", preset, "--model", PS_DEFAULT_MODEL, "--out", plan});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("owl allocation") && r.out.contains("total") && r.out.contains("0.6000"), r.out.constData());
        const auto saved = nlohmann::json::parse(ps_test::read_bytes(plan).toStdString());
        QCOMPARE(saved["allocation"]["kind"].get<std::string>(), std::string("uniform"));
        QCOMPARE(saved["overrides"].size(), size_t(60));
        std::set<double> distinct;
        for (const auto& [name, s] : saved["overrides"].items()) distinct.insert(s.get<double>());
        QVERIFY(distinct.size() > 2);  // OWL gives blocks different sparsities

        const QString out = tmp_.filePath("owl-pruned");
        r = ps_test::run_cli({"prune", "--plan", plan, "--model", PS_DEFAULT_MODEL, "--out", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto result = nlohmann::json::parse(ps_test::read_bytes(out + "/result.json").toStdString());
        for (const auto& t : result["tensors"])
            QCOMPARE(t["target"].get<double>(), saved["overrides"][t["name"].get<std::string>()].get<double>());
        QVERIFY(std::abs(result["total"]["sparsity"].get<double>() - 0.6) < 1e-3);
    }

    void prune_with_the_structured_presets() {
        auto preset = [&](const QString& name, const QString& plan) {
            auto j = nlohmann::json::parse(ps_test::read_bytes(QString(PS_SOURCE_DIR) + "/resources/presets/" + name).toStdString());
            j["calibration"]["samples"] = 16;
            ps_test::write_bytes(plan, QByteArray::fromStdString(j.dump()));
        };
        const QString width_plan = tmp_.filePath("width.json"), width = tmp_.filePath("width-30");
        preset("width-30-llm-pruner.json", width_plan);
        auto r = ps_test::run_cli({"prune", "--plan", width_plan, "--model", PS_DEFAULT_MODEL, "--out", width});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("MLP channels 1536 -> 1076"), r.out.constData());
        auto config = nlohmann::json::parse(ps_test::read_bytes(width + "/config.json").toStdString());
        QCOMPARE(config["text_config"]["intermediate_size"].get<int>(), 1076);
        QCOMPARE(config["vision_config"]["intermediate_size"].get<int>(), 512);  // language-only
        QVERIFY(QFile::exists(width + "/width.json") && QFile::exists(width + "/plan.json") && QFile::exists(width + "/vocab.txt"));
        r = ps_test::run_cli({"eval", width, "--task", "zero-shot", "--limit", "200", "--json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY(nlohmann::json::parse(r.out.toStdString())[0]["metrics"]["top1"].get<double>() > 50.0);

        const QString depth_plan = tmp_.filePath("depth.json"), depth = tmp_.filePath("depth-25");
        preset("depth-25.json", depth_plan);
        r = ps_test::run_cli({"prune", "--plan", depth_plan, "--model", PS_DEFAULT_MODEL, "--out", depth});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("depth: dropped text tower blocks"), r.out.constData());
        config = nlohmann::json::parse(ps_test::read_bytes(depth + "/config.json").toStdString());
        QCOMPARE(config["text_config"]["num_hidden_layers"].get<int>(), 5);  // floor(0.25 * 6) of 6 blocks
        QCOMPARE(config["vision_config"]["num_hidden_layers"].get<int>(), 4);
        QVERIFY(QFile::exists(depth + "/depth.json") && QFile::exists(depth + "/plan.json"));
        r = ps_test::run_cli({"eval", depth, "--task", "zero-shot", "--limit", "200"});
        QVERIFY2(r.exit_code == 0, r.err.constData());

        // A structured Plan that would remove nothing fails before any work and writes nothing.
        auto j = nlohmann::json::parse(ps_test::read_bytes(depth_plan).toStdString());
        j["allocation"]["language"] = 0.1;
        ps_test::write_bytes(depth_plan, QByteArray::fromStdString(j.dump()));
        r = ps_test::run_cli({"prune", "--plan", depth_plan, "--model", PS_DEFAULT_MODEL, "--out", tmp_.filePath("d0")});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("too small to drop a whole block"), r.err.constData());
        QVERIFY(!QFileInfo::exists(tmp_.filePath("d0")));
    }

    void prune_depth() {
        const QString out = tmp_.filePath("depth");
        auto r = ps_test::run_cli({"prune-depth", PS_DEFAULT_MODEL, "--out", out, "--tower", "text", "--blocks", "2", "--samples", "16"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("dropped 2 of 6 blocks"), r.out.constData());
        QCOMPARE(r.out.count("  dropped"), 2);
        r = ps_test::run_cli({"eval", out, "--task", "zero-shot", "--limit", "50"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        r = ps_test::run_cli({"prune-depth", PS_DEFAULT_MODEL, "--out", tmp_.filePath("d2"), "--tower", "text", "--blocks", "6"});
        QCOMPARE(r.exit_code, 2);
        QVERIFY(!QDir(tmp_.filePath("d2")).exists());
    }

    void train_default_short_run_and_bad_data() {
        // A corrupt IDX file: one-line error naming it, nothing written.
        const QString data = tmp_.filePath("fmnist");
        QVERIFY(QDir().mkpath(data));
        for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                              "t10k-labels-idx1-ubyte.gz"})
            QVERIFY(QFile::copy(QString("/usr/share/datasets/fashion-mnist/") + f, data + "/" + f));
        QFile labels(data + "/train-labels-idx1-ubyte.gz");
        QVERIFY(labels.resize(labels.size() / 2));
        const QString out = tmp_.filePath("trained");
        auto r = ps_test::run_cli({"train-default", "--data", data, "--out", out, "--max-steps", "3"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + data.toUtf8() + "/train-labels-idx1-ubyte.gz: "), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(!QDir(out).exists());
        QVERIFY(!QDir(out + ".work").exists());

        // Three steps of the real schedule, evaluated on 200 images: the resources it writes assemble.
        r = ps_test::run_cli({"train-default", "--out", out, "--max-steps", "3", "--batch", "32", "--eval-limit", "200"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY2(r.out.contains("trained 3/"), r.out.constData());
        const auto manifest = nlohmann::json::parse(ps_test::read_bytes(out + "/manifest.json").toStdString());
        QCOMPARE(manifest["training"]["steps"].get<int64_t>(), int64_t(3));
        QCOMPARE(manifest["metrics"]["eval_images"].get<int64_t>(), int64_t(200));
        QVERIFY(!QDir(out + ".work").exists());
        r = ps_test::run_cli({"assemble-default", tmp_.filePath("assembled"), "--resources", out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        r = ps_test::run_cli({"inspect", tmp_.filePath("assembled")});
        QVERIFY2(r.out.contains("vision-text-dual-encoder"), r.out.constData());
    }

    void make_demo_refuses_existing_folder() {
        const QString dir = tmp_.filePath("exists");
        QVERIFY(QDir().mkpath(dir));
        auto r = ps_test::run_cli({"make-demo", dir});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("already exists"), r.err.constData());
        QVERIFY(QDir(dir).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
