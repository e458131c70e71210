// The settings of the current Plan, docked on the right: a preset selector (the built-in presets
// and the user's own Plan files), method, pattern (N:M included), target sparsity, allocation, the
// vision / projector / language ratios as linked sliders, calibration, device, dtype and seed.
// Fields the panel does not show (recovery, tokens, overrides…) pass through unchanged.
#pragma once
#include <QWidget>

#include "core/job/plan.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;
class QSpinBox;

namespace ps {

class PlanPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlanPanel(QWidget* parent = nullptr);

    // The Plan the widgets describe, on top of the last Plan set (the model folder included).
    Plan plan() const;
    void setPlan(const Plan& plan);

    // The built-in presets (resources/presets, embedded), by display name.
    static QList<QPair<QString, Plan>> builtInPresets();

    QComboBox* presetBox() const { return preset_; }
    QComboBox* methodBox() const { return method_; }
    QComboBox* patternBox() const { return pattern_; }
    QDoubleSpinBox* sparsityBox() const { return sparsity_; }
    QComboBox* allocationBox() const { return allocation_; }
    QSlider* ratioSlider(const QString& modality) const;  // "vision", "projector", "language"
    QCheckBox* linkBox() const { return link_; }

public Q_SLOTS:
    void applyPreset(int index);
    // Save / load a Plan file chosen in a dialog; errors go to the message box.
    void savePresetAs();
    void loadPreset();

Q_SIGNALS:
    void planChanged();
    void presetError(const QString& message);

private:
    void ratioMoved(QSlider* moved);
    void showRatios();  // the value labels beside the ratio sliders
    void updateEnabled();
    void addPreset(const QString& name, const Plan& plan);

    Plan base_;
    QList<Plan> presets_;
    bool updating_ = false;  // set while setPlan() fills the widgets
    QComboBox* preset_;
    QComboBox* method_;
    QComboBox* pattern_;
    QDoubleSpinBox* sparsity_;
    QComboBox* allocation_;
    QSlider* vision_;
    QSlider* projector_;
    QSlider* language_;
    QLabel* visionValue_;
    QLabel* projectorValue_;
    QLabel* languageValue_;
    QCheckBox* link_;
    QComboBox* calibrationData_;
    QSpinBox* samples_;
    QComboBox* device_;
    QComboBox* dtype_;
    QSpinBox* seed_;
};

}  // namespace ps
