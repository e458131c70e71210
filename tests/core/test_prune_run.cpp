// One pruning run from a Plan on the default model: a sparse Plan writes the checkpoint and
// result.json, its allocation names exactly the tensors the result lists at their targets; a
// depth Plan drops its blocks and says which; an existing output folder or a Plan without a model
// is refused before any work (a missing model is never read), leaving nothing behind. A LLaVA
// without a tokenizer is pruned by magnitude from its weights alone (the lowest |w| of each matrix,
// checked here; the vision block its vision_feature_layer leaves unused untouched and named), while
// Wanda, which needs calibration data, is refused with one line naming the folder. Every preset
// and a Plan file with every section as the first release wrote it run on the default model.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/vlm.h"
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
    void everyPresetAndAnOldPlanRun() {
        QVERIFY(tmp_.isValid());
        const QDir presets(QString(PS_SOURCE_DIR) + "/resources/presets");
        QStringList files;
        for (const QString& f : presets.entryList({"*.json"})) files << presets.filePath(f);
        QCOMPARE(files.size(), 9);
        files << QString(PS_SOURCE_DIR) + "/tests/data/projects/plan-every-section.json";
        for (const QString& file : files) {
            ps::Plan p = ps::Plan::load(file.toStdString());
            p.model = PS_DEFAULT_MODEL;
            p.calibration.samples = 8;  // each file as written, but for the calibration set's size
            p.calibration.batch_size = 8;
            const std::string out = tmp_.filePath("preset-" + QFileInfo(file).baseName()).toStdString();
            const ps::PruneRunSummary s = ps::run_prune(p, out, {});
            QVERIFY2(!s.result.empty() && QFileInfo::exists(QString::fromStdString(out + "/config.json")), qPrintable(file));
            if (!p.removes_structures())  // width, depth and comp write their own record (width.json, depth.json, result.json)
                QVERIFY2(ps::read_json_file(out + "/result.json").value("method", std::string()) == p.method, qPrintable(file));
            QVERIFY2(ps::read_json_file(out + "/plan.json").at("name") == p.name, qPrintable(file));
        }
    }

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

    void withoutTokenizer() {
        const std::string demo = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo);
        ps::Plan p = plan("magnitude");
        p.model = demo;
        const std::string out = tmp_.filePath("demo-magnitude").toStdString();
        const ps::PruneRunSummary s = ps::run_prune(p, out, {});
        const QString text = QString::fromStdString(s.text);
        QVERIFY2(text.contains("tokenizer") && text.contains("vision block 3") && text.contains("vision_feature_layer"), s.text.c_str());
        const auto dense = ps::Vlm::load(demo), pruned = ps::Vlm::load(out);
        int checked = 0;
        for (const ps::LinearLayer& l : dense->map().linears) {
            if (l.block < 0 || l.modality == ps::Modality::Other) continue;
            const at::Tensor w = dense->weights().get(l.name + ".weight"), got = pruned->weights().get(l.name + ".weight");
            if (l.modality == ps::Modality::Vision && l.block == 3) {  // never run: left as it was
                QVERIFY(at::equal(w, got));
                continue;
            }
            // Magnitude: the floor(numel / 2) smallest |w| of the matrix are zeroed, the rest kept as they were.
            const at::Tensor zero = got == 0;
            QCOMPARE(zero.sum().item<int64_t>(), w.numel() / 2);
            QVERIFY(w.abs().masked_select(zero).max().item<float>() <= w.abs().masked_select(~zero).min().item<float>());
            QVERIFY(at::equal(got.masked_select(~zero), w.masked_select(~zero)));
            ++checked;
        }
        QCOMPARE(checked, 3 * 6 + 6 * 7);

        p.method = "wanda";
        const QString message = ps_test::error_of([&] { ps::run_prune(p, tmp_.filePath("demo-wanda").toStdString(), {}); });
        QVERIFY2(message.startsWith(QString::fromStdString(demo)) && message.contains("tokenizer") && !message.contains('\n'),
                 qPrintable(message));
        QVERIFY(!QDir(tmp_.filePath("demo-wanda")).exists());
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
