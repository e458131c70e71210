// The Sweep dialog: by default magnitude, Wanda and SparseGPT at 10…90 % on 1 000 test images; an
// N:M pattern adds one point per method; a sparsity outside [0, 1) or no method is refused with
// the reason and OK disabled; the estimate is the timed methods' pruning plus scoring per image
// (and says which methods have no timing yet). A per-modality split of the Plan is kept and scaled,
// and a target it cannot reach is refused before the sweep runs, or every Linear gets the target.
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTest>

#include "ui/sweep_dialog.h"

class TestSweepDialog : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void specValidationAndEstimate() {
        ps::SweepDialog::Timings timings;
        timings.prune_seconds = {{"wanda", 2.0}};
        timings.seconds_per_image = 0.001;
        ps::SweepDialog dialog(ps::Plan{}, timings);
        QPushButton* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
        ps::SweepSpec spec = dialog.spec();
        QCOMPARE(spec.methods, (std::vector<std::string>{"magnitude", "wanda", "sparsegpt"}));
        QCOMPARE(spec.patterns, std::vector<std::string>{"unstructured"});
        QCOMPARE(spec.sparsities, (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}));
        QCOMPARE(spec.eval_limit, int64_t{1000});
        QVERIFY(dialog.valid() && ok->isEnabled());
        QVERIFY2(dialog.estimate().contains("27 points") && dialog.estimate().contains("magnitude, sparsegpt"),
                 qPrintable(dialog.estimate()));

        dialog.patternBox("2:4")->setChecked(true);  // one more point per method
        QVERIFY2(dialog.estimate().startsWith("30 points"), qPrintable(dialog.estimate()));

        // Wanda alone: 10 points × 2 s of pruning + 11 × 1 000 images × 1 ms of scoring = 31 s
        dialog.methodBox("magnitude")->setChecked(false);
        dialog.methodBox("sparsegpt")->setChecked(false);
        QVERIFY2(dialog.estimate().contains("About 31 s") && !dialog.estimate().contains("not timed"), qPrintable(dialog.estimate()));

        dialog.sparsityEdit()->setText("0.5, 1.2");
        QVERIFY(!dialog.valid() && !ok->isEnabled());
        QVERIFY2(dialog.error().contains("1.2") && dialog.error().contains("[0, 1)"), qPrintable(dialog.error()));
        dialog.sparsityEdit()->setText("0.25 0.75");
        QVERIFY(dialog.valid());
        QCOMPARE(dialog.spec().sparsities, (std::vector<double>{0.25, 0.75}));
        dialog.methodBox("wanda")->setChecked(false);
        QVERIFY(!dialog.valid() && dialog.error().contains("method"));
    }

    void perModalitySplitIsCheckedBeforeItRuns() {
        ps::Plan split;  // 60 % vision / 30 % language, 32 % overall
        split.sparsity = 0.32;
        split.allocation.kind = "modality";
        split.allocation.modality = {{"vision", 0.6}, {"language", 0.3}};
        ps::SweepDialog dialog(split, {});
        QVERIFY(dialog.keepSplitBox()->isChecked());
        // kept and scaled, 60 % would ask vision for 0.6 · 0.6 / 0.32 > 1: said before anything runs
        QVERIFY2(!dialog.valid() && dialog.error().contains("allocation.vision (scaled to sparsity 60%)"), qPrintable(dialog.error()));
        QCOMPARE(dialog.base().allocation.kind, std::string("modality"));
        dialog.sparsityEdit()->setText("0.16 0.32");  // reachable
        QVERIFY2(dialog.valid(), qPrintable(dialog.error()));
        dialog.sparsityEdit()->setText("0.5 0.9");
        dialog.keepSplitBox()->setChecked(false);  // every Linear at the target
        QVERIFY2(dialog.valid(), qPrintable(dialog.error()));
        QCOMPARE(dialog.base().allocation.kind, std::string("uniform"));
        QVERIFY(dialog.base().allocation.modality.empty());
    }
};

QTEST_MAIN(TestSweepDialog)
#include "test_sweep_dialog.moc"
