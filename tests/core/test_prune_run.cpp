// One pruning run from a Plan on the default model: a sparse Plan writes the checkpoint and
// result.json, its allocation names exactly the tensors the result lists at their targets; a
// depth Plan drops its blocks and says which; an existing output folder or a Plan without a model
// is refused before any work (a missing model is never read), leaving nothing behind.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/job/prune_run.h"
#include "tests/test_support.h"

class TestPruneRun : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    static ps::Plan plan(const std::string& method) {
        ps::Plan p;
        p.model = PS_DEFAULT_MODEL;
        p.method = method;
        p.calibration.samples = 16;
        return p;
    }

private Q_SLOTS:
    void sparseRun() {
        QVERIFY(tmp_.isValid());
        ps::Plan p = plan("wanda");
        p.targets = {"text_model\\.encoder\\.layer\\.[01]\\..*"};
        const std::string out = tmp_.filePath("wanda").toStdString();
        const ps::PruneRunSummary s = ps::run_prune(p, out, {});
        QCOMPARE(s.out_dir, out);
        QVERIFY(std::filesystem::exists(out + "/model.safetensors") && std::filesystem::exists(out + "/result.json"));
        QCOMPARE(s.allocation.size(), s.result["tensors"].size());
        QCOMPARE(s.allocation.size(), size_t(12));  // 6 Linears in each of two blocks
        for (const auto& t : s.result["tensors"]) {
            QCOMPARE(s.allocation.at(t["name"].get<std::string>()), t["target"].get<double>());
            QVERIFY(std::abs(t["achieved"].get<double>() - 0.5) < 1e-3);
        }
        QVERIFY(QString::fromStdString(s.text).contains("relative reconstruction error"));
    }

    void depthRun() {
        ps::Plan p = plan("depth");
        p.pattern = "structured";
        p.sparsity = 0.34;  // a third of each tower's blocks
        const ps::PruneRunSummary s = ps::run_prune(p, tmp_.filePath("depth").toStdString(), {});
        QVERIFY(s.allocation.empty());
        QCOMPARE(s.result["method"].get<std::string>(), std::string("depth"));
        QVERIFY2(QString::fromStdString(s.text).contains("depth: dropped"), s.text.c_str());
    }

    void refusedBeforeWork() {
        ps::Plan p = plan("wanda");
        p.model = tmp_.filePath("no-model").toStdString();
        const QString existing = tmp_.filePath("wanda");  // from sparseRun
        QVERIFY(ps_test::error_of([&] { ps::run_prune(p, existing.toStdString(), {}); })
                    .startsWith(existing + ": already exists"));
        p.model.clear();
        QVERIFY(ps_test::error_of([&] { ps::run_prune(p, tmp_.filePath("x").toStdString(), {}); }).startsWith("plan: names no model"));
        QVERIFY(!QDir(tmp_.filePath("x")).exists());
    }
};

QTEST_GUILESS_MAIN(TestPruneRun)
#include "test_prune_run.moc"
