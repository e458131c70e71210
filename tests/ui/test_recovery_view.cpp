// The Recovery tab on a pruned run of the default model: the settings show the Plan's recovery
// section and edits come back through recovery(); only runs with a mask are offered as sources;
// Start trains with the loss curves and the accuracy drawn live, then shows dense / pruned /
// recovered accuracy and removes its state file; a run cancelled mid-way leaves no folder, offers
// Resume, and the resumed run ends with the uninterrupted run's curves.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "tests/short_recovery_plan.h"
#include "ui/job_controller.h"
#include "ui/recovery_view.h"

class TestRecoveryView : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString run_;

    ps::Plan plan() const { return ps_test::short_recovery_plan(PS_DEFAULT_MODEL, 3); }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        ps::Plan p = plan();
        p.targets = {"text_model\\.encoder\\.layer\\.[01]\\..*"};
        run_ = tmp_.filePath("pruned");
        ps::run_prune(p, run_.toStdString(), {});
    }

    void settingsRoundTrip() {
        ps::JobController jobs;
        ps::RecoveryView view(&jobs);
        QSignalSpy edited(&view, &ps::RecoveryView::recoveryEdited);
        view.setPlan(plan());
        QCOMPARE(edited.count(), 0);
        ps::RecoveryOptions r = view.recovery();
        QCOMPARE(r.max_steps, int64_t(6));
        QCOMPARE(r.batch_size, int64_t(32));
        QCOMPARE(r.checkpoint_every, int64_t(2));  // kept, though the tab does not show it
        QVERIFY(std::abs(r.data_fraction - 0.01) < 1e-12);
        QComboBox* mode = view.modeBox();
        mode->setCurrentIndex(mode->findData("lora"));
        QCOMPARE(edited.count(), 1);
        QCOMPARE(view.recovery().mode, std::string("lora"));

        // Only folders with a mask are sources; the newest is chosen.
        const QString structured = tmp_.filePath("structured");
        QVERIFY(QDir().mkpath(structured));
        view.setRuns({run_, structured});
        QCOMPARE(view.sourceBox()->count(), 2);
        QCOMPARE(view.source(), run_);
    }

    void trainLiveThenCancelAndResume() {
        ps::JobController jobs;
        ps::RecoveryView view(&jobs);
        view.currentPlan = [this] { return plan(); };
        view.setPlan(plan());
        view.setRuns({run_});
        QSignalSpy recovered(&view, &ps::RecoveryView::recovered);
        QSignalSpy failed(&jobs, &ps::JobController::failed);
        QVERIFY(!view.resumeButton()->isEnabled());  // nothing to resume before any run

        // Live: the curves grow while the job runs.
        int liveMax = 0;
        QTimer poll;
        connect(&poll, &QTimer::timeout, this, [&] {
            if (jobs.isRunning()) liveMax = std::max(liveMax, view.stepCount());
        });
        poll.start(5);
        const QString out = tmp_.filePath("recovered");
        QVERIFY(view.startInto(out));
        QVERIFY(!view.startInto(tmp_.filePath("other")));  // one job at a time
        QVERIFY(recovered.wait(300000) || !failed.isEmpty());
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
        QVERIFY2(liveMax >= 3, qPrintable(QString::number(liveMax)));
        QCOMPARE(view.stepCount(), 6);
        QCOMPARE(view.curve(ps::RecoveryView::Eval).size(), 2);
        QVERIFY(QFile::exists(out + "/result.json"));
        QVERIFY(!QFile::exists(out + ".state"));
        QString numbers;
        for (int r = 0; r < view.numbers()->rowCount(); ++r)
            numbers += view.numbers()->item(r, 0)->text() + "=" + view.numbers()->item(r, 1)->text() + "\n";
        QVERIFY2(numbers.contains("zero-shot top-1, dense=") && numbers.contains("zero-shot top-1, pruned=") &&
                     numbers.contains("zero-shot top-1, recovered=") && numbers.contains("recovered − pruned="),
                 qPrintable(numbers));
        QVERIFY(!view.resumeButton()->isEnabled());
        const QList<QPointF> uninterrupted = view.curve(ps::RecoveryView::Total);

        // Cancelled once two steps are drawn (its state saved at step 2 or later): no folder, Resume offered.
        const QString second = tmp_.filePath("recovered-2");
        QSignalSpy cancelled(&jobs, &ps::JobController::cancelled);
        QTimer stopper;
        connect(&stopper, &QTimer::timeout, this, [&] {
            if (view.stepCount() >= 2) jobs.cancel();
        });
        QVERIFY(view.startInto(second));
        QCOMPARE(view.stepCount(), 0);  // a new run starts with empty curves
        stopper.start(1);
        QVERIFY(cancelled.wait(300000));
        stopper.stop();
        QVERIFY(!QFile::exists(second));
        QVERIFY(QFile::exists(second + ".state"));
        QVERIFY(view.resumeButton()->isEnabled());

        QVERIFY(view.resume());
        QVERIFY(recovered.wait(300000));
        QCOMPARE(recovered.count(), 2);
        QCOMPARE(recovered.at(1).at(0).toString(), second);
        QVERIFY(!QFile::exists(second + ".state"));
        QCOMPARE(view.stepCount(), 6);
        QCOMPARE(view.curve(ps::RecoveryView::Total), uninterrupted);  // same steps, same losses
        QVERIFY(!view.resumeButton()->isEnabled());
    }
};

QTEST_MAIN(TestRecoveryView)
#include "test_recovery_view.moc"
