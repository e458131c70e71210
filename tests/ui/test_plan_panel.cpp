// The Plan panel: every built-in preset is listed by name and applying one sets the widgets to it
// (the model folder kept); the widgets' Plan round-trips through setPlan; linked ratio sliders move
// together and a per-modality Plan carries their values; a structured method forces the pattern;
// fields the panel does not show pass through. An edited preset is named "(modified)" in the
// selector and the Plan, and no longer once the edit is undone; every field has a tooltip; a
// caption folder added as calibration data is offered from then on.
#include <QAbstractButton>
#include <QAbstractSpinBox>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include "ui/plan_panel.h"

class TestPlanPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void listsEveryBuiltInPreset() {
        const auto presets = ps::PlanPanel::builtInPresets();
        QCOMPARE(presets.size(), QDir(PS_SOURCE_DIR "/resources/presets").entryList({"*.json"}, QDir::Files).size());
        ps::PlanPanel panel;
        QCOMPARE(panel.presetBox()->count(), presets.size() + 1);  // and the "choose" entry
        QStringList names;
        for (const auto& [name, plan] : presets) names << name;
        QVERIFY2(names.contains("Wanda 2:4 language-only"), qPrintable(names.join(", ")));
    }

    void applyingAPresetSetsTheWidgets() {
        ps::PlanPanel panel;
        ps::Plan start;
        start.model = "/models/clip";
        panel.setPlan(start);
        QSignalSpy changed(&panel, &ps::PlanPanel::planChanged);
        const int index = panel.presetBox()->findText("Wanda 2:4 language-only");
        QVERIFY(index > 0);
        panel.applyPreset(index);
        QVERIFY(!changed.isEmpty());
        const ps::Plan p = panel.plan();
        QCOMPARE(p.method, std::string("wanda"));
        QCOMPARE(p.pattern, std::string("2:4"));
        QCOMPARE(p.allocation.kind, std::string("modality"));
        QCOMPARE(p.allocation.modality.at("vision"), 0.0);
        QCOMPARE(p.model, std::string("/models/clip"));
        QCOMPARE(panel.patternBox()->currentText(), QString("2:4"));
    }

    void roundTripAndPassThrough() {
        ps::PlanPanel panel;
        ps::Plan p;
        p.method = "sparsegpt";
        p.sparsity = 0.7;
        p.seed = 7;
        p.calibration.samples = 48;
        p.dtype = "bfloat16";
        p.recovery.lr = 3e-4;           // not shown by the panel
        p.overrides["text_model.x"] = 0.2;  // nor this
        panel.setPlan(p);
        QVERIFY(panel.plan().to_json() == p.to_json());
        panel.sparsityBox()->setValue(0.6);
        QCOMPARE(panel.plan().sparsity, 0.6);
        QCOMPARE(panel.plan().recovery.lr, 3e-4);
    }

    void linkedSlidersAndStructuredMethods() {
        ps::PlanPanel panel;
        panel.allocationBox()->setCurrentIndex(panel.allocationBox()->findData("modality"));
        QVERIFY(panel.ratioSlider("vision")->isEnabled());
        panel.linkBox()->setChecked(false);
        panel.ratioSlider("vision")->setValue(30);
        panel.ratioSlider("language")->setValue(70);
        ps::Plan p = panel.plan();
        QCOMPARE(p.allocation.modality.at("vision"), 0.3);
        QCOMPARE(p.allocation.modality.at("language"), 0.7);
        QVERIFY(!p.allocation.modality.count("projector"));  // 0: the projector is not targeted
        panel.linkBox()->setChecked(true);
        panel.ratioSlider("vision")->setValue(40);
        QCOMPARE(panel.ratioSlider("language")->value(), 40);
        panel.allocationBox()->setCurrentIndex(panel.allocationBox()->findData("uniform"));
        QVERIFY(!panel.ratioSlider("vision")->isEnabled());
        QVERIFY(panel.plan().allocation.modality.empty());

        panel.methodBox()->setCurrentIndex(panel.methodBox()->findData("depth"));
        QCOMPARE(panel.plan().pattern, std::string("structured"));
        QVERIFY(!panel.patternBox()->isEnabled());
        panel.methodBox()->setCurrentIndex(panel.methodBox()->findData("wanda"));
        QCOMPARE(panel.plan().pattern, std::string("unstructured"));
    }

    void editedPresetSaysModified() {
        ps::PlanPanel panel;
        const QString name = "SparseGPT 70% equal";
        const int index = panel.presetBox()->findText(name);
        QVERIFY(index > 0);
        panel.applyPreset(index);
        QCOMPARE(QString::fromStdString(panel.plan().name), name);
        QCOMPARE(panel.presetBox()->currentText(), name);
        QVERIFY(panel.linkBox()->isChecked());
        panel.ratioSlider("vision")->setValue(40);
        QCOMPARE(QString::fromStdString(panel.plan().name), name + " (modified)");
        QCOMPARE(panel.presetBox()->currentText(), name + " (modified)");
        panel.ratioSlider("vision")->setValue(70);  // back as the preset has it
        QCOMPARE(QString::fromStdString(panel.plan().name), name);
        panel.allocationBox()->setCurrentIndex(panel.allocationBox()->findData("uniform"));
        QCOMPARE(QString::fromStdString(panel.plan().name), name + " (modified)");

        ps::Plan mine;  // a Plan of its own name (a project's) leaves the preset behind
        mine.name = "my plan";
        panel.setPlan(mine);
        QCOMPARE(panel.plan().name, std::string("my plan"));
        QCOMPARE(panel.presetBox()->currentIndex(), 0);
        QCOMPARE(panel.presetBox()->itemText(index), name);
    }

    void everyFieldSaysWhatItDoes() {
        ps::PlanPanel panel;
        int fields = 0;
        for (QWidget* w : panel.findChildren<QWidget*>()) {
            const bool field = qobject_cast<QComboBox*>(w) || qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QSlider*>(w) ||
                               qobject_cast<QAbstractButton*>(w);
            if (!field) continue;
            ++fields;
            QVERIFY2(!w->toolTip().isEmpty(), qPrintable(w->metaObject()->className() + QString(" ") + w->objectName()));
        }
        QCOMPARE(fields, 19);  // preset, Load, Save, method, pattern, sparsity, allocation, 3 ratios, link, data, Browse, samples,
                               // device, dtype, seed, task, metric
    }

    void scoreByTaskAndMetric() {
        ps::PlanPanel panel;
        ps::Plan p;
        p.evaluation.task = "yes-no";
        p.evaluation.metric = "adversarial/f1";
        panel.setPlan(p);
        QCOMPARE(panel.taskBox()->currentData().toString(), QString("yes-no"));
        QCOMPARE(panel.plan().evaluation.metric, std::string("adversarial/f1"));
        QVERIFY(panel.metricBox()->findText("mme_score") >= 0);  // the task's metrics are offered
        panel.taskBox()->setCurrentIndex(panel.taskBox()->findData("choice"));
        QCOMPARE(panel.plan().evaluation.task, std::string("choice"));
        QVERIFY(panel.metricBox()->findText("likelihood_accuracy") >= 0);
        QVERIFY(panel.metricBox()->findText("mme_score") < 0);
    }

    void calibrationFolders() {
        ps::PlanPanel panel;
        QVERIFY(panel.calibrationFolders().isEmpty());
        panel.setCalibrationFolders({"/data/captions"});
        QCOMPARE(panel.calibrationFolders(), QStringList{"/data/captions"});
        QCOMPARE(panel.plan().calibration.data, std::string("fashion-mnist"));  // offered, not chosen
        panel.calibrationBox()->setCurrentIndex(panel.calibrationBox()->findText("/data/captions"));
        QCOMPARE(panel.plan().calibration.data, std::string("/data/captions"));
    }
};

QTEST_MAIN(TestPlanPanel)
#include "test_plan_panel.moc"
