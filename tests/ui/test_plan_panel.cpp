// The Plan panel: every built-in preset is listed by name and applying one sets the widgets to it
// (the model folder kept); the widgets' Plan round-trips through setPlan; linked ratio sliders move
// together and a per-modality Plan carries their values; a structured method forces the pattern;
// fields the panel does not show pass through.
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
};

QTEST_MAIN(TestPlanPanel)
#include "test_plan_panel.moc"
