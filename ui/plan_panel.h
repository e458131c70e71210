// The settings of the current Plan, docked on the right: a preset selector (the built-in presets
// and the user's own Plan files, marked "(modified)" once edited), method, pattern (N:M included),
// target sparsity, allocation, the vision / projector / language ratios as linked sliders,
// calibration (Fashion-MNIST or a caption folder), device, dtype and seed; every field says in its
// tooltip what it does, its range and where it comes from. Under a per-modality allocation the
// sliders drive the target: the box shows the allocation's parameter-weighted overall sparsity on
// the open model, which is what the Plan then carries. Fields the panel does not show (recovery,
// tokens, overrides…) pass through unchanged.
#pragma once
#include <QStringList>
#include <QWidget>
#include <memory>

#include "core/job/plan.h"
#include "core/model/model_map.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
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
    // The open model, which a per-modality split's overall target is weighted by; null: none.
    void setModel(std::shared_ptr<const ModelMap> map);

    // The built-in presets (resources/presets, embedded), by display name.
    static QList<QPair<QString, Plan>> builtInPresets();

    // Caption folders offered as calibration data besides Fashion-MNIST (a project keeps them).
    QStringList calibrationFolders() const;
    void setCalibrationFolders(const QStringList& folders);

    QComboBox* presetBox() const { return preset_; }
    QComboBox* methodBox() const { return method_; }
    QComboBox* patternBox() const { return pattern_; }
    QDoubleSpinBox* sparsityBox() const { return sparsity_; }
    QComboBox* allocationBox() const { return allocation_; }
    QSlider* ratioSlider(const QString& modality) const;  // "vision", "projector", "language"
    QCheckBox* linkBox() const { return link_; }
    QComboBox* calibrationBox() const { return calibrationData_; }
    QComboBox* taskBox() const { return task_; }
    QComboBox* metricBox() const { return metric_; }

public Q_SLOTS:
    void applyPreset(int index);
    // Save / load a Plan file chosen in a dialog; errors go to the message box.
    void savePresetAs();
    void loadPreset();
    // Adds a caption folder chosen in a dialog to the calibration data and selects it.
    void browseCalibration();

Q_SIGNALS:
    void planChanged();
    void presetError(const QString& message);

private:
    void ratioMoved(QSlider* moved);
    void showRatios();  // the value labels beside the ratio sliders
    void fillMetrics();  // the metric box's suggestions for the chosen task
    void edited();      // after any change: enabled states, the derived target, the preset's "(modified)"
    void updateEnabled();
    void showDerivedTarget();
    void markPreset();
    void addPreset(const QString& name, const Plan& plan);
    // The Plan without its name: what "(modified)" compares.
    nlohmann::json content() const;

    Plan base_;
    std::shared_ptr<const ModelMap> map_;
    QList<Plan> presets_;
    QStringList presetNames_;
    int presetIndex_ = 0;  // the preset the Plan started from; 0: none
    nlohmann::json presetContent_;  // content() right after it was applied
    bool modified_ = false;
    bool snapshot_ = false;  // take presetContent_ at the next markPreset()
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
    QPushButton* browse_;
    QSpinBox* samples_;
    QComboBox* device_;
    QComboBox* dtype_;
    QSpinBox* seed_;
    QComboBox* task_;    // the evaluation section: what a sweep scores by
    QComboBox* metric_;
};

}  // namespace ps
