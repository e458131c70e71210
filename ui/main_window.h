// The main window: the layer tree docked on the left, the Plan's settings on the right with the
// Prune, Recover and Sweep buttons at their foot, the job log with progress and Cancel at the
// bottom, and tabs in the centre (the model's weights per block, the allocation, the vision ×
// language grid, token heatmaps, the sweep curves, recovery training, the run's report with its
// export, and two runs compared). Checkpoints are read, pruned, scored and swept on a worker
// thread, so the GUI never blocks; every prune is scored on a small test subset right after it is
// written. Actions a model cannot take are disabled with the reason. The open work is a project
// file (.psproj) that can be saved and reopened.
#pragma once
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/job/plan.h"

class QAction;
class QLabel;
class QMenu;
class QTabWidget;

namespace ps {

class AllocationView;
class BlockChart;
class CompareView;
class CurvesView;
class ModalityGridView;
class RecoveryView;
class ReportView;
class TokenView;
class AskPanel;
class JobController;
class JobPanel;
class ModelTree;
class PlanPanel;
struct ModelMap;
struct SweepResult;
struct SweepSpec;

class MainWindow : public QMainWindow {
    Q_OBJECT
    Q_PROPERTY(bool showErrorDialogs READ showErrorDialogs WRITE setShowErrorDialogs)
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    ModelTree* modelTree() const { return tree_; }
    BlockChart* blockChart() const { return chart_; }
    AllocationView* allocationView() const { return allocation_; }
    ModalityGridView* modalityGrid() const { return grid_; }
    CurvesView* curvesView() const { return curves_; }
    TokenView* tokenView() const { return tokens_; }
    AskPanel* askPanel() const { return ask_; }
    ReportView* reportView() const { return reports_; }
    RecoveryView* recoveryView() const { return recovery_; }
    CompareView* compareView() const { return compare_; }
    PlanPanel* planPanel() const { return planPanel_; }
    JobController* jobs() const { return jobs_; }
    JobPanel* jobPanel() const { return jobPanel_; }
    QTabWidget* tabs() const { return tabs_; }
    QString checkpointDir() const { return currentDir_; }
    QStringList runs() const { return runs_; }
    QStringList sweeps() const { return sweeps_; }
    bool isModified() const { return modified_; }

    // Whether failures also pop up a message box, and closing asks about unsaved work (tests turn
    // it off; the signals are always emitted).
    bool showErrorDialogs() const { return showErrorDialogs_; }
    void setShowErrorDialogs(bool show) { showErrorDialogs_ = show; }

public Q_SLOTS:
    // Inspects the checkpoint folder `dir` in the background, then shows it. On failure the
    // previously shown model stays. When called again before a load ends, only the last one counts.
    void openCheckpoint(const QString& dir);
    // Prunes the open checkpoint as the Plan panel says into `outDir` (which must not exist), on
    // the worker thread. Returns false when a job is already running or no model is open.
    bool pruneTo(const QString& outDir);
    // Where Prune… proposes to write: "<model>-<method>-<pattern>-<overall target %>" in the last
    // output folder chosen, else beside the checkpoint.
    QString proposedPruneFolder() const;
    // Runs (or reads from DIR/cache) a sweep of `base` (default: the current Plan) into `dir`
    // (sweep.json), on the worker thread, then shows it in the Curves and Modalities tabs.
    bool sweepTo(const QString& dir, const SweepSpec& spec, const std::optional<Plan>& base = std::nullopt);
    // Scores the run in `dir` on a small test subset (or reads its score.json) as a job, once the
    // worker is free; the score goes to the log, the Allocation tab and Compare (runScored).
    void scoreRun(const QString& dir);
    // Shows DIR/sweep.json; errors are reported through `failed`.
    bool openSweep(const QString& dir);
    // Project files; errors are reported through `failed` (and a dialog).
    bool saveProject(const QString& path);
    bool openProject(const QString& path);

Q_SIGNALS:
    void checkpointLoaded(const QString& dir);
    void loadFailed(const QString& message);
    void pruneFinished(const QString& outDir);
    void runScored(const QString& dir, const QString& score);
    void sweepShown(const QString& dir);
    void failed(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void chooseCheckpoint();
    void choosePruneFolder();
    void chooseSweepFolder(bool grid);
    void chooseSweepToOpen();
    void scoreNext();  // the first pending score, when no job runs
    void updateActions();  // enabled with the open model and no job running; disabled ones say why
    QString proposedFolder(const QString& name) const;  // in the last output folder, else beside the checkpoint
    void rememberOutputFolder(const QString& chosen);
    void showSweep(const SweepResult& sweep, const QString& dir);
    void useSplit(double vision, double language);
    void chooseProjectToOpen();
    bool saveProjectInteractive(bool askPath);
    void showAbout();
    void showHelp(const QString& title, const QString& markdown);
    void showModel(const QString& dir, std::shared_ptr<const ModelMap> map);
    void showError(const QString& title, const QString& message);
    void planChanged();
    void overrideEdited(const QString& linear, double sparsity);
    void showRunResult(const QString& outDir, const std::map<std::string, double>& allocation, double target,
                       const std::map<std::string, double>& achieved, const QString& text);
    void addRun(const QString& dir);
    void showRuns();  // the runs into the tabs that list them (Report, Recovery, Compare)
    void setModified(bool modified);
    void addRecent(const QString& path);
    void fillRecentMenu();

    ModelTree* tree_;
    BlockChart* chart_;
    AllocationView* allocation_;
    ModalityGridView* grid_;
    CurvesView* curves_;
    TokenView* tokens_;
    AskPanel* ask_;
    PlanPanel* planPanel_;
    JobController* jobs_;
    JobPanel* jobPanel_;
    ReportView* reports_;  // after jobs_, which it is given
    RecoveryView* recovery_;
    CompareView* compare_;
    QTabWidget* tabs_;
    QLabel* modelLabel_;
    QLabel* deviceLabel_;
    QLabel* memoryLabel_;
    QMenu* recentMenu_ = nullptr;
    QAction* pruneAction_ = nullptr;
    QAction* sweepAction_ = nullptr;
    QAction* gridAction_ = nullptr;
    QAction* recoverAction_ = nullptr;
    QAction* resumeAction_ = nullptr;
    QAction* cancelAction_ = nullptr;
    QStringList pendingScores_;  // runs waiting to be scored
    std::shared_ptr<const ModelMap> map_;
    QString currentDir_, projectPath_;
    QStringList runs_, sweeps_;
    int loadSerial_ = 0;  // identifies the newest openCheckpoint call
    bool showErrorDialogs_ = true;
    bool modified_ = false;
    std::unique_ptr<Plan> pendingPlan_;  // a project's Plan, applied once its checkpoint is shown
};

}  // namespace ps
