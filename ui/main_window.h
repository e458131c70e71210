// The main window: the layer tree docked on the left, the Plan's settings on the right, the job
// log with progress and Cancel at the bottom, and tabs in the centre (the model's weights per
// block, the allocation). Checkpoints are read and pruned on a worker thread, so the GUI never
// blocks; the open work is a project file (.psproj) that can be saved and reopened.
#pragma once
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <map>
#include <memory>
#include <string>

class QLabel;
class QMenu;
class QTabWidget;

namespace ps {

class AllocationView;
class BlockChart;
class JobController;
class JobPanel;
class ModelTree;
class PlanPanel;
struct ModelMap;
struct Plan;

class MainWindow : public QMainWindow {
    Q_OBJECT
    Q_PROPERTY(bool showErrorDialogs READ showErrorDialogs WRITE setShowErrorDialogs)
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    ModelTree* modelTree() const { return tree_; }
    BlockChart* blockChart() const { return chart_; }
    AllocationView* allocationView() const { return allocation_; }
    PlanPanel* planPanel() const { return planPanel_; }
    JobController* jobs() const { return jobs_; }
    JobPanel* jobPanel() const { return jobPanel_; }
    QTabWidget* tabs() const { return tabs_; }
    QString checkpointDir() const { return currentDir_; }
    QStringList runs() const { return runs_; }
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
    // Project files; errors are reported through `failed` (and a dialog).
    bool saveProject(const QString& path);
    bool openProject(const QString& path);

Q_SIGNALS:
    void checkpointLoaded(const QString& dir);
    void loadFailed(const QString& message);
    void pruneFinished(const QString& outDir);
    void failed(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void chooseCheckpoint();
    void choosePruneFolder();
    void chooseProjectToOpen();
    bool saveProjectInteractive(bool askPath);
    void showAbout();
    void showModel(const QString& dir, std::shared_ptr<const ModelMap> map);
    void showError(const QString& title, const QString& message);
    void planChanged();
    void overrideEdited(const QString& linear, double sparsity);
    void showRunResult(const QString& outDir, const std::map<std::string, double>& allocation,
                       const std::map<std::string, double>& achieved, const QString& text);
    void setModified(bool modified);
    void addRecent(const QString& path);
    void fillRecentMenu();

    ModelTree* tree_;
    BlockChart* chart_;
    AllocationView* allocation_;
    PlanPanel* planPanel_;
    JobController* jobs_;
    JobPanel* jobPanel_;
    QTabWidget* tabs_;
    QLabel* modelLabel_;
    QLabel* deviceLabel_;
    QLabel* memoryLabel_;
    QMenu* recentMenu_ = nullptr;
    std::shared_ptr<const ModelMap> map_;
    QString currentDir_, projectPath_;
    QStringList runs_;
    int loadSerial_ = 0;  // identifies the newest openCheckpoint call
    bool showErrorDialogs_ = true;
    bool modified_ = false;
    std::unique_ptr<Plan> pendingPlan_;  // a project's Plan, applied once its checkpoint is shown
};

}  // namespace ps
