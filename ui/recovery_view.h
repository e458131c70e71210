// The Recovery tab: recovery training of a pruned run (SparseLoRA, plain LoRA, full finetuning with
// the mask fixed, or the projector alone) with the Plan's recovery settings; live curves of the
// loss and its parts (task, KL, hidden) and of the zero-shot accuracy while it trains; Start,
// Cancel and Resume (from the state file the run keeps); the numbers before and after.
#pragma once
#include <QList>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/job/plan.h"
#include "core/recover/recovery_step.h"

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace ps {

class JobController;

class RecoveryView : public QWidget {
    Q_OBJECT
public:
    // The curves drawn, in the order of the plot's graphs; Eval is on the right axis.
    enum Curve { Total, Task, Kl, Hidden, Eval };

    explicit RecoveryView(JobController* jobs, QWidget* parent = nullptr);

    // Finished runs; those with a mask (masks.safetensors) can be recovered. The newest recovered
    // run among them is shown.
    void setRuns(const QStringList& runs);
    // Shows the Plan's recovery section in the settings (emits nothing).
    void setPlan(const Plan& plan);
    // The Plan the run starts from: model, method, calibration, seed (the Plan panel's).
    std::function<Plan()> currentPlan;
    // Asked for the output folder on Start; a dialog unless replaced (tests do). Empty: abort.
    std::function<QString(const QString& proposal)> chooseOutput;

    // The settings as edited, for the Plan's recovery section.
    RecoveryOptions recovery() const;
    // "" (prune by the Plan first) or the pruned run folder chosen as the source.
    QString source() const;
    void setSource(const QString& run);
    QCustomPlot* plot() const { return plot_; }
    QComboBox* sourceBox() const { return source_; }
    QComboBox* modeBox() const { return mode_; }
    QTableWidget* numbers() const { return numbers_; }
    QPushButton* resumeButton() const { return resume_; }
    // The (step, value) points of one curve; stepCount() is the loss curve's.
    QList<QPointF> curve(Curve c) const;
    int stepCount() const;

public Q_SLOTS:
    // Asks for a new output folder (chooseOutput), then starts into it.
    void start();
    // Starts recovery into `out` (which must not exist) on the worker thread, keeping its state in
    // OUT.state so a cancelled run can resume. False when a job runs or the Plan has no model.
    bool startInto(const QString& out);
    // Continues the last cancelled or failed run from its state file; false when there is none.
    bool resume();

Q_SIGNALS:
    void recoveryEdited();  // a setting changed: the main window puts recovery() into the Plan
    void recovered(const QString& out, const QString& text);

private:
    bool launch(const Plan& plan, const QString& out);
    void addStep(const RecoveryStepLog& step, std::optional<double> top1);
    void clearCurves();
    void showResult(const QString& out, const nlohmann::json& result);
    void updateButtons();

    JobController* jobs_;
    QComboBox* source_;
    QComboBox* mode_;
    QDoubleSpinBox* dataPercent_;
    QSpinBox* batch_;
    QSpinBox* maxSteps_;
    QDoubleSpinBox* lr_;
    QDoubleSpinBox* kl_;
    QDoubleSpinBox* hidden_;
    QSpinBox* evalEvery_;
    QPushButton* start_;
    QPushButton* cancel_;
    QPushButton* resume_;
    QLabel* status_;
    QCustomPlot* plot_;
    QTableWidget* numbers_;
    RecoveryOptions shown_;  // the Plan's section, for the fields this tab does not edit
    // The run this tab started last: resumable when it stopped early and left its state file.
    std::optional<Plan> lastPlan_;
    QString lastOut_;
    bool ours_ = false;  // the running job is this tab's
};

}  // namespace ps
