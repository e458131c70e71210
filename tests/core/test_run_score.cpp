// Scoring a run right after it is written (core/job/run_score): a Wanda run of the default model
// scores the zero-shot top-1 its report gives on as many test images (run and dense); the score is
// kept in score.json and read from there next time without model code (the run's weights are
// garbage by then), while other options score again (and, the weights being garbage, say why
// instead of throwing). A tiny LLaVA with a tokenizer gets the mean next-token KL its report
// measures on the same prompts; the LLaVA demo, which has no tokenizer, cannot be scored, says why
// and writes nothing; an unreadable score.json is named.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstdio>
#include <filesystem>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/run_score.h"
#include "core/model/demo_checkpoint.h"
#include "core/report/html_report.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestRunScore : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    nlohmann::json report(const std::string& run, int64_t images) {
        ps::ReportOptions opt;
        opt.eval_limit = images;
        opt.heatmaps = 0;
        opt.latency_repeats = 1;
        return ps::write_report(run, run + "/report.html", opt, {});
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void zeroShotRunIsScoredAndKept() {
        ps::Plan plan;
        plan.model = PS_DEFAULT_MODEL;
        plan.calibration.samples = 16;
        plan.sparsity = 0.6;
        const std::string run = tmp_.filePath("wanda").toStdString();
        ps::run_prune(plan, run, {});
        ps::ScoreOptions opt;
        opt.images = 200;
        const ps::RunScore s = ps::score_run(run, opt, {});
        QVERIFY2(s.unavailable.empty(), s.unavailable.c_str());
        QCOMPARE(s.metric, std::string("zero_shot_top1"));
        QCOMPARE(s.samples, int64_t{200});
        QVERIFY(!s.cached);
        const nlohmann::json r = report(run, 200);
        QCOMPARE(s.run, r["accuracy"]["run"].get<double>());
        QCOMPARE(s.dense.value(), r["accuracy"]["dense"].get<double>());
        QVERIFY(s.dense.value() > s.run);  // 60 % costs some accuracy
        QCOMPARE(QString::fromStdString(s.to_text()),
                 QString("zero-shot top-1 on 200 test images: %1 % (dense %2 %)").arg(s.run, 0, 'f', 2).arg(*s.dense, 0, 'f', 2));

        // Garbage weights of the same size: the kept score is read without loading the model
        std::FILE* f = std::fopen((run + "/model.safetensors").c_str(), "r+b");
        QVERIFY(f);
        std::fputs("garbage!", f);
        std::fclose(f);
        const ps::RunScore kept = ps::score_run(run, opt, {});
        QVERIFY(kept.cached);
        QCOMPARE(kept.run, s.run);
        QCOMPARE(kept.dense.value(), s.dense.value());
        const QByteArray before = ps_test::read_bytes(QString::fromStdString(run + "/score.json"));
        opt.images = 100;  // other options score again, which this broken run cannot
        const ps::RunScore again = ps::score_run(run, opt, {});
        QVERIFY2(QString::fromStdString(again.unavailable).contains("model.safetensors"), again.unavailable.c_str());
        QVERIFY(QString::fromStdString(again.to_text()).startsWith("not scored: "));
        QCOMPARE(ps_test::read_bytes(QString::fromStdString(run + "/score.json")), before);

        ps_test::write_bytes(QString::fromStdString(run + "/score.json"), "{ not json");
        QVERIFY(ps_test::error_of([&] { ps::score_run(run, opt, {}); }).startsWith(QString::fromStdString(run + "/score.json")));
    }

    void decoderRunGetsTheNextTokenKl() {
        const QString dense = tmp_.filePath("llava");
        const auto ref = ps_test::run_python("run_reference.py", {dense, "llava"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        ps::Plan plan;
        plan.model = dense.toStdString();
        plan.calibration.samples = 4;
        const std::string run = tmp_.filePath("llava-wanda").toStdString();
        ps::run_prune(plan, run, {});
        const ps::RunScore s = ps::score_run(run, {}, {});
        QVERIFY2(s.unavailable.empty(), s.unavailable.c_str());
        QCOMPARE(s.metric, std::string("next_token_kl"));
        QCOMPARE(s.samples, int64_t{4});  // the Plan's 4 prompts, fewer than the score's 16
        QVERIFY(!s.dense);
        QVERIFY(s.run > 0);
        const nlohmann::json r = report(run, 100);
        QVERIFY(std::abs(s.run - r["next_token_kl"]["mean"].get<double>()) < 1e-12);

        const std::string demo = tmp_.filePath("demo").toStdString(), pruned = tmp_.filePath("demo-magnitude").toStdString();
        ps::write_demo_checkpoint(demo);
        plan.model = demo;
        plan.method = "magnitude";
        ps::run_prune(plan, pruned, {});
        const ps::RunScore none = ps::score_run(pruned, {}, {});
        QVERIFY2(QString::fromStdString(none.unavailable).contains("no tokenizer files"), none.unavailable.c_str());
        QVERIFY(!fs::exists(pruned + "/score.json"));
    }
};

QTEST_GUILESS_MAIN(TestRunScore)
#include "test_run_score.moc"
