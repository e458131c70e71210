// The run report of a Wanda 50 % run of the default model with a two-point sweep: the HTML has every
// section, the per-layer table one row per pruned Linear, inline PNGs (curves, Pareto front and
// heatmaps), the unstructured run's speed labelled "size only"; report.json carries the same
// figures; headless Chromium renders the page (the screenshot is a real picture, not a blank page).
// A recovery run from that checkpoint reports dense, pruned-before-recovery (the pruned folder
// scored on the same images: the first report's figure) and recovered accuracy, and its per-layer
// sparsity counted on the recovered weights. A LLaVA run's report leaves out the default model's
// sweep (another checkpoint) and measures the mean KL of next-token distributions to the dense model
// on its calibration data, as computed here. A folder that is not a run is refused.
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "core/io/atomic_file.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/recovery_run.h"
#include "core/job/sweep.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/report/html_report.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestHtmlReport : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps::Plan plan_;
    nlohmann::json first_;  // the pruned run's report.json

private Q_SLOTS:
    void report_has_every_section_and_renders() {
        QVERIFY(tmp_.isValid());
        ps::Plan plan;
        plan.model = PS_DEFAULT_MODEL;
        plan.calibration.samples = 16;
        plan.calibration.batch_size = 16;
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const auto calib = ps::calibration_batches(*m, plan.calibration, 0);
        const ps::PruneResult pruned = ps::prune_model(*m, plan, ps::allocate(plan, m->map()), calib, {});
        const std::string run = tmp_.filePath("run").toStdString(), sweep = tmp_.filePath("sweep").toStdString();
        ps::write_pruned_checkpoint(*m, plan.to_json(), pruned, run);
        ps::SweepSpec spec;
        spec.sparsities = {0.3, 0.6};
        spec.eval_limit = 100;
        const ps::SweepResult sr = ps::run_sweep(plan, spec, sweep + "/cache", {});
        ps::write_file_atomic(sweep + "/sweep.json", sr.to_json().dump());

        ps::ReportOptions opt;
        opt.sweep_dir = sweep;
        opt.heatmaps = 3;
        opt.eval_limit = 200;
        opt.latency_repeats = 2;
        const std::string html = tmp_.filePath("report.html").toStdString();
        const nlohmann::json r = ps::write_report(run, html, opt, {});
        const QString page = QString::fromUtf8(ps_test::read_bytes(QString::fromStdString(html)));
        for (const char* id : {"plan", "totals", "layers", "accuracy", "curves", "pareto", "heatmaps", "speed", "machine"})
            QVERIFY2(page.contains(QString("id=\"%1\"").arg(id)), id);
        QCOMPARE(page.count("data:image/png;base64,"), 2 + 3);  // the curves, the Pareto front and three heatmaps
        QVERIFY(page.contains("size only"));
        QCOMPARE(r["layers"].size(), pruned.tensors.size());
        QCOMPARE(page.count("<tr><td class=\"l\">") >= static_cast<int>(pruned.tensors.size()), true);
        QVERIFY(r["accuracy"]["dense"].get<double>() > 50);
        QVERIFY(r["accuracy"]["run"].get<double>() > 0);
        QVERIFY(r["speed"]["size_only"].get<bool>());
        QVERIFY(ps::read_json_file(tmp_.filePath("report.json").toStdString()) == r);
        plan_ = plan;
        first_ = r;

        const QString chromium = QStandardPaths::findExecutable("chromium");
        QVERIFY2(!chromium.isEmpty(), "chromium is not installed (packaging/setup.sh installs it)");
        const QString shot = tmp_.filePath("report.png");
        const auto run_chromium = ps_test::run_program(
            chromium, {"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2000",
                       "--screenshot=" + shot, "file://" + QString::fromStdString(html)},
            120000);
        QVERIFY2(QFile::exists(shot), run_chromium.err.constData());
        const cv::Mat png = cv::imread(shot.toStdString());
        QCOMPARE(png.cols, 1280);
        cv::Scalar mean, stddev;
        cv::meanStdDev(png, mean, stddev);
        qInfo("rendered report: %dx%d, pixel std %.1f", png.cols, png.rows, stddev[0]);
        QVERIFY(stddev[0] > 10);  // text, tables and images, not a blank page
    }

    void recovery_run_reports_before_and_after() {
        ps::Plan plan = plan_;
        const std::string run = tmp_.filePath("run").toStdString(), recovered = tmp_.filePath("recovered").toStdString();
        plan.recovery.pruned = run;
        plan.recovery.max_steps = 2;
        plan.recovery.batch_size = 32;
        plan.recovery.data_fraction = 0.01;
        plan.recovery.eval_samples = 100;
        auto dense = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::run_recovery(*dense, ps::load_pruned_linears(run, dense->weights()), plan, recovered, "", {});
        ps::ReportOptions opt;
        opt.heatmaps = 0;
        opt.eval_limit = 200;
        opt.latency_repeats = 1;
        const std::string html = tmp_.filePath("recovered.html").toStdString();
        const nlohmann::json r = ps::write_report(recovered, html, opt, {});
        const QString page = QString::fromUtf8(ps_test::read_bytes(QString::fromStdString(html)));
        QVERIFY(page.contains("pruned, before recovery"));
        QVERIFY(page.contains("recovered (this run)"));
        QCOMPARE(r["accuracy"]["dense"].get<double>(), first_["accuracy"]["dense"].get<double>());
        QCOMPARE(r["accuracy"]["pruned"].get<double>(), first_["accuracy"]["run"].get<double>());
        QCOMPARE(r["accuracy"]["recovered"].get<double>(), r["accuracy"]["run"].get<double>());
        // SparseLoRA keeps the mask: every pruned Linear keeps its sparsity
        std::map<std::string, double> before;
        for (const auto& l : first_["layers"]) before[l["name"].get<std::string>()] = l["sparsity"].get<double>();
        QCOMPARE(r["layers"].size(), before.size());
        for (const auto& l : r["layers"]) {
            const std::string name = l["name"].get<std::string>();
            QVERIFY2(before.count(name) && std::abs(l["sparsity"].get<double>() - before[name]) < 1e-3, name.c_str());
        }
    }

    void llava_report_has_next_token_kl_and_no_foreign_sweep() {
        const QString dense_dir = tmp_.filePath("llava");
        const auto ref = ps_test::run_python("run_reference.py", {dense_dir, "llava"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        ps::Plan plan;
        plan.model = dense_dir.toStdString();
        plan.calibration.samples = 6;
        plan.sparsity = 0.6;
        auto m = ps::Vlm::load(plan.model);
        const auto calib = ps::calibration_batches(*m, plan.calibration, plan.seed);
        const ps::PruneResult pruned = ps::prune_model(*m, plan, ps::allocate(plan, m->map()), calib, {});
        const std::string run = tmp_.filePath("llava-run").toStdString();
        ps::write_pruned_checkpoint(*m, plan.to_json(), pruned, run);

        ps::ReportOptions opt;
        opt.sweep_dir = tmp_.filePath("sweep").toStdString();  // the default model's sweep
        opt.latency_repeats = 1;
        opt.questions = 10;
        opt.answers_shown = 3;
        const std::string html = tmp_.filePath("llava.html").toStdString();
        const nlohmann::json r = ps::write_report(run, html, opt, {});
        const QString page = QString::fromUtf8(ps_test::read_bytes(QString::fromStdString(html)));
        QVERIFY(!r.contains("sweep"));
        QVERIFY2(page.contains("another checkpoint"), qPrintable(page));

        // The reference: both models on the same calibration prompts, KL(dense ‖ run) of the softmax over
        // the vocabulary at every attended position, averaged over positions.
        auto dense = ps::Vlm::load(plan.model), pruned_model = ps::Vlm::load(run);
        double sum = 0, worst = 0;
        int64_t positions = 0;
        for (const ps::VlmInputs& in : calib) {
            const at::Tensor p = dense->forward(in).logits.to(at::kDouble).log_softmax(-1);
            const at::Tensor q = pruned_model->forward(in).logits.to(at::kDouble).log_softmax(-1);
            const at::Tensor kl = (p.exp() * (p - q)).sum(-1);  // [B,T]
            const at::Tensor mask = in.attention_mask.to(at::kBool);
            sum += kl.masked_select(mask).sum().item<double>();
            worst = std::max(worst, kl.masked_select(mask).max().item<double>());
            positions += mask.sum().item<int64_t>();
        }
        const nlohmann::json& kl = r.at("next_token_kl");
        QVERIFY(sum > 0);
        QVERIFY2(std::abs(kl.at("mean").get<double>() - sum / static_cast<double>(positions)) < 1e-9,
                 qPrintable(QString("%1 vs %2").arg(kl.at("mean").get<double>()).arg(sum / static_cast<double>(positions))));
        QVERIFY(std::abs(kl.at("max").get<double>() - worst) < 1e-9);
        QCOMPARE(kl.at("positions").get<int64_t>(), positions);
        QCOMPARE(kl.at("samples").get<int64_t>(), static_cast<int64_t>(calib.size()));
        QVERIFY(page.contains("next-token KL"));

        // The Plan's evaluation task (open-ended by default) on 10 test images, both models: the run
        // also has the KL to the dense model on the reference answers; three questions shown with
        // their image and both answers.
        const nlohmann::json& q = r.at("questions");
        QCOMPARE(q.at("task").get<std::string>(), std::string("open"));
        QCOMPARE(q.at("questions").get<int64_t>(), int64_t{10});
        for (const char* side : {"dense", "run"})
            for (const char* metric : {"exact_match", "answer_nll"}) QVERIFY2(q["metrics"][side].contains(metric), metric);
        QVERIFY(q["metrics"]["run"]["answer_kl"].get<double>() > 0);
        QVERIFY(!q["metrics"]["dense"].contains("answer_kl"));
        QCOMPARE(q.at("examples").size(), size_t{3});
        QCOMPARE(q["examples"][0]["question"].get<std::string>(), std::string("What is the item in this image?"));
        QCOMPARE(page.count("What is the item in this image?</td>"), 3);  // each shown question's row
        QVERIFY(page.contains("Questions"));
    }

    void not_a_run_folder_is_refused() {
        QVERIFY(ps_test::error_of([&] { ps::write_report(PS_DEFAULT_MODEL, tmp_.filePath("x.html").toStdString(), {}, {}); })
                    .contains("has no result.json"));
        QVERIFY(!QFile::exists(tmp_.filePath("x.html")));
    }
};

QTEST_GUILESS_MAIN(TestHtmlReport)
#include "test_html_report.moc"
