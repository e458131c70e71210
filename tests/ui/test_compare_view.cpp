// The Compare tab on run folders written by the test for the default model's layout: a run with
// per-tensor results against a recovery run whose report counted its sparsity. The summary shows
// both Plans, achieved sparsity and accuracy with B − A; per-block bars are the parameter-weighted
// sparsities of each run; the per-Linear table lists both and their difference; the recovery run's
// training curve is drawn; an unreadable folder is named in the note. Runs of different checkpoints
// are compared with a warning, and only differences beyond the printed precision are coloured.
#include <QDir>
#include <QLabel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <map>

#include "core/io/atomic_file.h"
#include "core/model/model_map.h"
#include "tests/ui/compare_rows.h"
#include "ui/compare_view.h"

namespace {

void writeJson(const QString& path, const nlohmann::json& j) { ps::write_file_atomic(path.toStdString(), j.dump(2)); }

using ps_test::summaryRow;

}  // namespace

class TestCompareView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void compareTwoRuns() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const ps::ModelMap map = ps::inspect_checkpoint(PS_DEFAULT_MODEL);
        // Run A: Wanda with per-tensor results, 0.5 everywhere but 0.25 in the first block's first Linear.
        // Run B: recovery, sparsity from its report: vision 0.3, language 0.7.
        nlohmann::json tensors = nlohmann::json::array(), layers = nlohmann::json::array();
        std::map<std::string, double> a, b;
        const std::vector<ps::BlockGroup> groups = ps::blockGroups(map);
        const std::string light = groups.at(0).linears.at(0)->name;
        for (const ps::LinearLayer& l : map.linears) {
            if (!l.prunable || l.block < 0) continue;
            const bool vision = l.modality == ps::Modality::Vision;
            a[l.name] = l.name == light ? 0.25 : 0.5;
            b[l.name] = vision ? 0.3 : 0.7;
            tensors.push_back({{"name", l.name}, {"modality", ps::modality_name(l.modality)}, {"achieved", a[l.name]}, {"target", 0.5}});
            layers.push_back({{"name", l.name}, {"modality", ps::modality_name(l.modality)}, {"sparsity", b[l.name]}});
        }
        const QString runA = tmp.filePath("a"), runB = tmp.filePath("b");
        QVERIFY(QDir().mkpath(runA) && QDir().mkpath(runB));
        writeJson(runA + "/plan.json", {{"method", "wanda"}, {"pattern", "unstructured"}, {"sparsity", 0.5}, {"allocation", {{"kind", "uniform"}}}});
        writeJson(runA + "/result.json", {{"method", "wanda"}, {"tensors", tensors}, {"total", {{"sparsity", 0.49}}},
                                          {"modalities", {{"vision", {{"sparsity", 0.48}}}, {"language", {{"sparsity", 0.5}}}}}});
        writeJson(runA + "/report.json", {{"accuracy", {{"dense", 90.0}, {"run", 85.5}, {"images", 1000}}},
                                          {"questions", {{"task", "open"}, {"metrics", {{"run", {{"exact_match", 43.5}, {"answer_nll", 3.7}}}}}}}});
        writeJson(runB + "/plan.json", {{"method", "owl"}, {"pattern", "2:4"}, {"sparsity", 0.5}, {"allocation", {{"kind", "modality"}}},
                                        {"recovery", {{"eval_samples", 200}}}});
        writeJson(runB + "/result.json",
                  {{"recovery", {{"mode", "sparselora"}, {"steps", 3},
                                 {"log", {{{"step", 1}, {"loss", 2.0}}, {{"step", 2}, {"loss", 1.5}}, {{"step", 3}, {"loss", 1.25}}}},
                                 {"evals", {{{"step", 3}, {"zero_shot_top1", 84.0}}}}}},
                   {"zero_shot_top1", {{"dense", 90.0}, {"pruned", 80.0}, {"recovered", 84.0}}},
                   {"task_metric", {{"task", "open"}, {"metric", "exact_match"}, {"pruned", 12.5}, {"recovered", 40.0}}},
                   {"masked_linears", {{"sparsity_merged", 0.6}}}});
        writeJson(runB + "/report.json", {{"layers", layers}});  // a report built without an accuracy section

        ps::CompareView view;
        view.setModel(map);
        view.setRuns({tmp.filePath("old"), runA, runB});  // the two newest are compared
        QCOMPARE(summaryRow(view, "folder"), QString("a|b|"));
        QCOMPARE(summaryRow(view, "method"), QString("wanda|owl|"));
        QCOMPARE(summaryRow(view, "pattern"), QString("unstructured|2:4|"));
        QCOMPARE(summaryRow(view, "allocation"), QString("uniform|modality|"));
        QCOMPARE(summaryRow(view, "recovery"), QString("none|sparselora, 3 steps|"));
        QCOMPARE(summaryRow(view, "target sparsity"), QString("50.00 %|50.00 %|0.00"));
        QCOMPARE(summaryRow(view, "achieved sparsity"), QString("49.00 %|60.00 %|+11.00"));
        QCOMPARE(summaryRow(view, "vision"), QString("48.00 %|–|"));
        QCOMPARE(summaryRow(view, "zero-shot top-1"), QString("85.50 %|84.00 %|-1.50"));
        QCOMPARE(summaryRow(view, "test images scored"), QString("1000|200|-800"));
        QCOMPARE(summaryRow(view, "open exact_match"), QString("43.50|40.00|-3.50"));  // the task's headline
        QVERIFY(view.findChild<QLabel*>()->text().contains("scored on different test images (1000 and 200)"));

        // Per block: parameter-weighted sparsity of each run.
        QVERIFY(view.blockCount() > 2);
        for (int k = 0; k < view.blockCount(); ++k) {
            double expectA = 0, expectB = 0, params = 0;
            for (const ps::LinearLayer& l : map.linears) {
                if (!a.count(l.name) || QString::fromStdString(l.group) != groups[k].path) continue;
                expectA += a[l.name] * static_cast<double>(l.params());
                expectB += b[l.name] * static_cast<double>(l.params());
                params += static_cast<double>(l.params());
            }
            if (params == 0) {  // the projector: neither run pruned it
                QCOMPARE(view.blockSparsity(0, k), -1.0);
                continue;
            }
            QVERIFY(std::abs(view.blockSparsity(0, k) - expectA / params) < 1e-12);
            QVERIFY(std::abs(view.blockSparsity(1, k) - expectB / params) < 1e-12);
        }
        QVERIFY(view.blockSparsity(0, 0) < 0.5);  // the lighter Linear pulls the first block down

        // Per Linear: both values and B − A.
        QCOMPARE(view.layers()->rowCount(), static_cast<int>(a.size()));
        const QString first = view.layers()->item(0, 0)->toolTip();
        QCOMPARE(first.toStdString(), light);
        QCOMPARE(view.layers()->item(0, 0)->text(), groups[0].label + ' ' + first.mid(groups[0].path.size() + 1));
        QCOMPARE(view.layers()->item(0, 1)->text(), QString("0.2500"));
        QCOMPARE(view.layers()->item(0, 2)->text(), QString::number(b[first.toStdString()], 'f', 4));
        QCOMPARE(view.layers()->item(0, 3)->text(), QString("+%1").arg(b[first.toStdString()] - 0.25, 0, 'f', 4));

        // A run folder that cannot be read is named.
        view.compare(runA, tmp.filePath("gone"));
        const QString note = view.findChild<QLabel*>()->text();
        QVERIFY2(note.contains(tmp.filePath("gone") + "/result.json"), qPrintable(note));
        QCOMPARE(summaryRow(view, "method"), QString("wanda||"));
    }

    void differentCheckpointsAndPrintedPrecision() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const ps::ModelMap map = ps::inspect_checkpoint(PS_DEFAULT_MODEL);
        const QString runA = tmp.filePath("a"), runB = tmp.filePath("b");
        QVERIFY(QDir().mkpath(runA) && QDir().mkpath(runB));
        const auto write = [&](const QString& dir, const std::string& model, double achieved, double vision) {
            writeJson(dir + "/plan.json", {{"model", model}, {"method", "wanda"}, {"pattern", "unstructured"}, {"sparsity", 0.5}});
            writeJson(dir + "/result.json", {{"method", "wanda"}, {"tensors", nlohmann::json::array()}, {"total", {{"sparsity", achieved}}},
                                             {"modalities", {{"vision", {{"sparsity", vision}}}}}});
        };
        // B − A: −0.00002 (prints as 0.00, so no colour) and +0.01 in percent points
        write(runA, "/models/one", 0.5000002, 0.30);
        write(runB, "/models/two", 0.5, 0.3001);
        ps::CompareView view;
        view.setModel(map);
        view.setRuns({runA, runB});
        const QString note = view.findChild<QLabel*>()->text();
        QVERIFY2(note.contains("different checkpoints") && note.contains("/models/one") && note.contains("/models/two"), qPrintable(note));
        QCOMPARE(summaryRow(view, "achieved sparsity"), QString("50.00 %|50.00 %|0.00"));
        QCOMPARE(summaryRow(view, "vision"), QString("30.00 %|30.01 %|+0.01"));
        QTableWidget* t = view.summary();
        for (int r = 0; r < t->rowCount(); ++r) {
            const QString measure = t->item(r, 0)->text().trimmed();
            if (measure == "achieved sparsity") QCOMPARE(t->item(r, 3)->background().style(), Qt::NoBrush);
            if (measure == "vision") QCOMPARE(t->item(r, 3)->background().style(), Qt::SolidPattern);
        }

        write(runB, "/models/one", 0.5, 0.3001);  // the same checkpoint: no warning
        view.setRuns({runA, runB});
        QVERIFY(!view.findChild<QLabel*>()->text().contains("different checkpoints"));
    }
};

QTEST_MAIN(TestCompareView)
#include "test_compare_view.moc"
