// The Report tab on a pruned run of the default model: without a report it says so; Build report
// writes report.html and report.json and summarises accuracy and sparsity; Export writes a fresh
// folder; over an existing one it asks first — declined, the folder stays as it was; accepted, it
// is replaced.
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "tests/test_support.h"
#include "ui/job_controller.h"
#include "ui/report_view.h"

class TestReportView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void buildAndExport() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        ps::Plan plan;
        plan.model = PS_DEFAULT_MODEL;
        plan.calibration.samples = 16;
        plan.targets = {"text_model\\.encoder\\.layer\\.[01]\\..*"};
        const QString run = tmp.filePath("run");
        ps::run_prune(plan, run.toStdString(), {});

        ps::JobController jobs;
        ps::ReportView view(&jobs);
        view.setEvalImages(100);
        view.setRuns({run});
        QCOMPARE(view.currentRun(), run);
        QVERIFY(view.summary()->toPlainText().contains("has no report yet"));

        QSignalSpy built(&view, &ps::ReportView::reportBuilt);
        QSignalSpy failed(&jobs, &ps::JobController::failed);
        QVERIFY(view.buildReport());
        QVERIFY(built.wait(300000) || !failed.isEmpty());
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
        QVERIFY(QFile::exists(run + "/report.html") && QFile::exists(run + "/report.json"));
        const QString summary = view.summary()->toPlainText();
        QVERIFY2(summary.contains("Zero-shot top-1 (100 test images)") && summary.contains("Sparsity per modality"), qPrintable(summary));

        int asked = 0;
        bool answer = false;
        view.confirmReplace = [&](const QString&) {
            ++asked;
            return answer;
        };
        QSignalSpy exported(&view, &ps::ReportView::exported);
        const QString out = tmp.filePath("hf");
        QVERIFY(view.exportTo(out, ""));
        QVERIFY(exported.wait(120000));
        QCOMPARE(asked, 0);
        QVERIFY(QFile::exists(out + "/model.safetensors"));
        ps_test::write_bytes(out + "/marker", "mine");
        QVERIFY(!view.exportTo(out, "bfloat16"));  // declined: nothing started, nothing touched
        QCOMPARE(asked, 1);
        QVERIFY(QFile::exists(out + "/marker"));
        answer = true;
        QVERIFY(view.exportTo(out, "bfloat16"));
        QVERIFY(exported.wait(120000));
        QCOMPARE(asked, 2);
        QVERIFY(!QFile::exists(out + "/marker"));
        QVERIFY(QFile::exists(out + "/model.safetensors"));
    }
};

QTEST_MAIN(TestReportView)
#include "test_report_view.moc"
