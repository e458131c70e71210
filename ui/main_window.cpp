#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QFutureWatcher>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/eval/sweep.h"
#include "core/io/atomic_file.h"
#include "core/job/prune_run.h"
#include "core/model/model_map.h"
#include "core/prune/allocation.h"
#include "core/prune/catalog.h"
#include "core/report/model_summary.h"
#include "core/runtime.h"
#include "ui/allocation_view.h"
#include "ui/block_chart.h"
#include "ui/compare_view.h"
#include "ui/curves_view.h"
#include "ui/job_controller.h"
#include "ui/job_panel.h"
#include "ui/modality_grid_view.h"
#include "ui/model_tree.h"
#include "ui/plan_panel.h"
#include "ui/project.h"
#include "ui/recovery_view.h"
#include "ui/report_view.h"
#include "ui/token_view.h"

namespace ps {
namespace {

// What the checkpoint reader hands back: the map, or the one-line error that stopped it.
struct LoadResult {
    std::shared_ptr<const ModelMap> map;
    QString error;
};

LoadResult load(const std::string& dir) {
    LoadResult r;
    try {
        r.map = std::make_shared<const ModelMap>(inspect_checkpoint(dir));
    } catch (const std::exception& e) {  // ps::Error included: its text already names the file
        r.error = QString::fromStdString(e.what());
    }
    return r;
}

// {Linear: achieved sparsity} from a run's result (sparse methods list their tensors).
std::map<std::string, double> achievedOf(const nlohmann::json& result) {
    std::map<std::string, double> out;
    for (const auto& t : result.value("tensors", nlohmann::json::array()))
        out[t.at("name").get<std::string>()] = t.at("achieved").get<double>();
    return out;
}

std::map<std::string, double> allocationOf(const nlohmann::json& result) {
    std::map<std::string, double> out;
    for (const auto& t : result.value("tensors", nlohmann::json::array()))
        out[t.at("name").get<std::string>()] = t.at("target").get<double>();
    return out;
}

constexpr int kMaxRecent = 8;

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      tree_(new ModelTree(this)),
      chart_(new BlockChart(this)),
      allocation_(new AllocationView(this)),
      grid_(new ModalityGridView(this)),
      curves_(new CurvesView(this)),
      tokens_(new TokenView(this)),
      planPanel_(new PlanPanel(this)),
      jobs_(new JobController(this)),
      jobPanel_(new JobPanel(jobs_, this)),
      reports_(new ReportView(jobs_, this)),
      recovery_(new RecoveryView(jobs_, this)),
      compare_(new CompareView(this)),
      tabs_(new QTabWidget(this)),
      modelLabel_(new QLabel(this)),
      deviceLabel_(new QLabel(this)),
      memoryLabel_(new QLabel(this)) {
    setWindowTitle("PruneStudio");
    resize(1600, 1000);
    tabs_->addTab(chart_, tr("Model"));
    tabs_->addTab(allocation_, tr("Allocation"));
    tabs_->addTab(grid_, tr("Modalities"));
    tabs_->addTab(tokens_, tr("Tokens"));
    tabs_->addTab(curves_, tr("Curves"));
    tabs_->addTab(recovery_, tr("Recovery"));
    tabs_->addTab(reports_, tr("Report"));
    tabs_->addTab(compare_, tr("Compare"));
    tabs_->setDocumentMode(true);
    setCentralWidget(tabs_);

    auto dock = [this](const QString& title, const char* name, QWidget* w, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
        d->setWidget(w);
        addDockWidget(area, d);
        return d;
    };
    QDockWidget* layers = dock(tr("Layers"), "layersDock", tree_, Qt::LeftDockWidgetArea);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(planPanel_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(planPanel_->minimumSizeHint().width() + 24);
    QDockWidget* plan = dock(tr("Plan"), "planDock", scroll, Qt::RightDockWidgetArea);
    QDockWidget* log = dock(tr("Jobs"), "jobsDock", jobPanel_, Qt::BottomDockWidgetArea);
    resizeDocks({layers, plan}, {540, 390}, Qt::Horizontal);
    resizeDocks({log}, {170}, Qt::Vertical);

    const RuntimeInfo rt = runtime_info();
    deviceLabel_->setText(tr("device: %1 · torch %2")
                              .arg(QString::fromStdString(rt.default_device), QString::fromStdString(rt.torch_version)));
    for (QLabel* l : {modelLabel_, memoryLabel_, deviceLabel_}) {
        l->setContentsMargins(8, 0, 8, 0);
        statusBar()->addPermanentWidget(l);
    }
    auto* memory = new QTimer(this);
    const auto showMemory = [this] { memoryLabel_->setText(tr("memory: %1 MiB").arg(resident_bytes() >> 20)); };
    connect(memory, &QTimer::timeout, this, showMemory);
    memory->start(2000);
    showMemory();
    statusBar()->showMessage(tr("Open a checkpoint folder to begin (Ctrl+O)"));

    connect(planPanel_, &PlanPanel::planChanged, this, &MainWindow::planChanged);
    connect(planPanel_, &PlanPanel::presetError, this, [this](const QString& m) { showError(tr("Plan file"), m); });
    connect(allocation_, &AllocationView::plannedEdited, this, &MainWindow::overrideEdited);
    connect(allocation_, &AllocationView::editRejected, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
    connect(jobs_, &JobController::failed, this, [this](const QString& title, const QString& m) { showError(title, m); });
    connect(grid_, &ModalityGridView::splitChosen, this, &MainWindow::useSplit);
    connect(tokens_, &TokenView::failed, this, [this](const QString& m) { showError(tr("Token heatmap"), m); });
    connect(curves_, &CurvesView::exportFailed, this, [this](const QString& m) { showError(tr("Export chart"), m); });
    recovery_->currentPlan = [this] {
        Plan p = planPanel_->plan();
        p.model = currentDir_.toStdString();
        return p;
    };
    connect(recovery_, &RecoveryView::recoveryEdited, this, [this] {
        Plan p = planPanel_->plan();
        p.recovery = recovery_->recovery();
        planPanel_->setPlan(p);
    });
    connect(recovery_, &RecoveryView::recovered, this, [this](const QString& out, const QString& text) {
        for (const QString& line : text.split('\n', Qt::SkipEmptyParts)) jobPanel_->appendLog(line);
        jobPanel_->appendLog(tr("wrote %1").arg(QDir::toNativeSeparators(out)));
        addRun(out);
    });
    buildMenus();
    // The layout and tab of the last session
    const QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    tabs_->setCurrentIndex(settings.value("window/tab", 0).toInt());
}

MainWindow::~MainWindow() {
    delete jobs_;  // cancels and joins a running job before the widgets it reports to go away
    jobs_ = nullptr;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open checkpoint folder…"), QKeySequence::Open, this, &MainWindow::chooseCheckpoint);
    file->addAction(tr("Open &project…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this, &MainWindow::chooseProjectToOpen);
    file->addAction(tr("Open s&weep…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_W), this, &MainWindow::chooseSweepToOpen);
    recentMenu_ = file->addMenu(tr("Recent projects"));
    fillRecentMenu();
    file->addAction(tr("&Save project"), QKeySequence::Save, this, [this] { saveProjectInteractive(false); });
    file->addAction(tr("Save project &as…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), this,
                    [this] { saveProjectInteractive(true); });
    file->addSeparator();
    file->addAction(tr("&Load Plan file…"), QKeySequence(Qt::CTRL | Qt::Key_L), planPanel_, &PlanPanel::loadPreset);
    file->addAction(tr("Save Plan file &as…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P), planPanel_, &PlanPanel::savePresetAs);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    QAction* prune = run->addAction(tr("&Prune into new folder…"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::choosePruneFolder);
    QAction* sweep = run->addAction(tr("&Sweep methods × sparsities…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this,
                                    [this] { chooseSweepFolder(false); });
    QAction* grid = run->addAction(tr("Sweep &vision × language grid…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G), this,
                                   [this] { chooseSweepFolder(true); });
    run->addSeparator();
    QAction* recover = run->addAction(tr("&Recover pruned run…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] {
        tabs_->setCurrentWidget(recovery_);
        recovery_->start();
    });
    QAction* resume = run->addAction(tr("Res&ume recovery"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, [this] {
        tabs_->setCurrentWidget(recovery_);
        recovery_->resume();
    });
    run->addSeparator();
    QAction* cancel = run->addAction(tr("&Cancel job"), QKeySequence(Qt::Key_Escape), jobs_, &JobController::cancel);
    cancel->setEnabled(false);
    connect(jobs_, &JobController::runningChanged, this, [prune, sweep, grid, recover, resume, cancel](bool running) {
        for (QAction* a : {prune, sweep, grid, recover, resume}) a->setEnabled(!running);
        cancel->setEnabled(running);
    });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < tabs_->count(); ++i)
        view->addAction(tabs_->tabText(i), QKeySequence(Qt::CTRL | (Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
    view->addSeparator();
    for (QDockWidget* d : findChildren<QDockWidget*>()) view->addAction(d->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About PruneStudio"), QKeySequence::HelpContents, this, &MainWindow::showAbout);
}

void MainWindow::openCheckpoint(const QString& dir) {
    const int serial = ++loadSerial_;
    statusBar()->showMessage(tr("Reading %1…").arg(QDir::toNativeSeparators(dir)));
    auto* watcher = new QFutureWatcher<LoadResult>(this);
    connect(watcher, &QFutureWatcher<LoadResult>::finished, this, [this, watcher, serial, dir] {
        const LoadResult r = watcher->result();
        watcher->deleteLater();
        if (serial != loadSerial_) return;  // a newer request superseded this one
        if (r.map) {
            showModel(dir, r.map);
        } else {
            pendingPlan_.reset();  // a project's Plan belongs to its checkpoint only
            statusBar()->showMessage(tr("Could not open checkpoint"), 5000);
            Q_EMIT loadFailed(r.error);
            showError(tr("Could not open checkpoint"), r.error);
        }
    });
    watcher->setFuture(QtConcurrent::run(load, dir.toStdString()));
}

void MainWindow::chooseCheckpoint() {
    const QString start = currentDir_.isEmpty() ? QDir::homePath() : QFileInfo(currentDir_).absolutePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open checkpoint folder"), start);
    if (!dir.isEmpty()) openCheckpoint(dir);
}

void MainWindow::choosePruneFolder() {
    if (!map_) {
        showError(tr("Prune"), tr("Open a checkpoint folder first (Ctrl+O)"));
        return;
    }
    const Plan p = planPanel_->plan();
    const QFileInfo model(QDir::cleanPath(currentDir_));
    QString base = QString("%1-%2-%3-%4").arg(model.fileName(), QString::fromStdString(p.method),
                                              QString::fromStdString(p.pattern).replace(':', '-'))
                       .arg(static_cast<int>(std::lround(100 * p.sparsity)));
    QString proposal = model.dir().filePath(base);
    for (int i = 2; QFileInfo::exists(proposal); ++i) proposal = model.dir().filePath(QString("%1-%2").arg(base).arg(i));
    const QString out = QFileDialog::getSaveFileName(this, tr("Prune into a new folder"), proposal, QString(), nullptr,
                                                     QFileDialog::ShowDirsOnly);
    if (!out.isEmpty()) pruneTo(out);
}

bool MainWindow::pruneTo(const QString& outDir) {
    if (jobs_->isRunning() || !map_) return false;
    Plan plan = planPanel_->plan();
    plan.model = currentDir_.toStdString();
    const std::string out = outDir.toStdString();
    const QString title = tr("Prune %1 (%2 %3, %4 %)")
                              .arg(QFileInfo(outDir).fileName(), QString::fromStdString(plan.method),
                                   QString::fromStdString(plan.pattern))
                              .arg(100 * plan.sparsity, 0, 'f', 0);
    return jobs_->start(title, [this, plan, out, outDir](const JobControl& job) -> JobController::Deliver {
        const PruneRunSummary s = run_prune(plan, out, job);
        auto allocation = s.allocation;
        auto achieved = achievedOf(s.result);
        const QString text = QString::fromStdString(s.text);
        return [this, outDir, allocation, achieved, text] { showRunResult(outDir, allocation, achieved, text); };
    });
}

bool MainWindow::sweepTo(const QString& dir, const SweepSpec& spec) {
    if (jobs_->isRunning() || !map_) return false;
    Plan plan = planPanel_->plan();
    plan.model = currentDir_.toStdString();
    const std::string out = dir.toStdString();
    const QString title = spec.vision.empty() ? tr("Sweep %1 points into %2").arg(spec.methods.size() * spec.sparsities.size())
                                                    .arg(QFileInfo(dir).fileName())
                                              : tr("Sweep the vision × language grid into %1").arg(QFileInfo(dir).fileName());
    return jobs_->start(title, [this, plan, spec, out, dir](const JobControl& job) -> JobController::Deliver {
        const SweepResult r = run_sweep(plan, spec, out + "/cache", job);
        write_file_atomic(out + "/sweep.json", r.to_json().dump(2) + "\n");
        return [this, r, dir] {
            jobPanel_->appendLog(tr("sweep: %1 points (%2 run, %3 from the cache) in %4 s")
                                     .arg(r.points.size())
                                     .arg(r.ran)
                                     .arg(r.cached)
                                     .arg(r.seconds, 0, 'f', 1));
            showSweep(r, dir);
        };
    });
}

bool MainWindow::openSweep(const QString& dir) {
    try {
        const std::string path = dir.toStdString() + "/sweep.json";
        showSweep(SweepResult::from_json(read_json_file(path), path), dir);
        return true;
    } catch (const std::exception& e) {
        showError(tr("Could not open the sweep"), QString::fromUtf8(e.what()));
        return false;
    }
}

void MainWindow::showSweep(const SweepResult& sweep, const QString& dir) {
    const QString name = QDir::toNativeSeparators(dir);
    curves_->setSweep(sweep, name);
    grid_->setSweep(sweep, name);
    if (!sweeps_.contains(dir)) {
        sweeps_.append(dir);
        setModified(true);
    }
    const bool isGrid = sweep.has_grid();
    if (!isGrid) reports_->setSweep(dir);
    tabs_->setCurrentWidget(isGrid ? static_cast<QWidget*>(grid_) : curves_);
    Q_EMIT sweepShown(dir);
}

void MainWindow::chooseSweepFolder(bool grid) {
    if (!map_) {
        showError(tr("Sweep"), tr("Open a checkpoint folder first (Ctrl+O)"));
        return;
    }
    const QFileInfo model(QDir::cleanPath(currentDir_));
    const QString proposal = model.dir().filePath(model.fileName() + (grid ? "-grid" : "-sweep"));
    const QString dir = QFileDialog::getSaveFileName(this, tr("Sweep into a folder (an existing sweep folder reuses its cache)"),
                                                     proposal, QString(), nullptr, QFileDialog::DontConfirmOverwrite);
    if (dir.isEmpty()) return;
    SweepSpec spec;
    spec.eval_limit = 1000;
    if (grid) {
        spec.vision = spec.language = {0.0, 0.2, 0.4, 0.6, 0.8};
    } else {
        spec.methods = {"magnitude", "wanda", "sparsegpt"};
        for (int i = 1; i <= 9; ++i) spec.sparsities.push_back(i / 10.0);
    }
    sweepTo(dir, spec);
}

void MainWindow::chooseSweepToOpen() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a sweep folder (with sweep.json)"), QDir::homePath());
    if (!dir.isEmpty()) openSweep(dir);
}

void MainWindow::useSplit(double vision, double language) {
    Plan p = planPanel_->plan();
    p.allocation.kind = "modality";
    p.allocation.modality["vision"] = vision;
    p.allocation.modality["language"] = language;
    planPanel_->setPlan(p);
    statusBar()->showMessage(tr("Plan: vision %1 %, language %2 %").arg(100 * vision).arg(100 * language), 5000);
}

void MainWindow::showRunResult(const QString& outDir, const std::map<std::string, double>& allocation,
                               const std::map<std::string, double>& achieved, const QString& text) {
    const Plan p = planPanel_->plan();
    if (!allocation.empty())
        allocation_->setPlanned(allocation, p.sparsity, tr("Allocation of the run in %1").arg(QDir::toNativeSeparators(outDir)));
    allocation_->setAchieved(achieved);
    tree_->setSparsity(achieved);
    for (const QString& line : text.split('\n', Qt::SkipEmptyParts)) jobPanel_->appendLog(line);
    jobPanel_->appendLog(tr("wrote %1").arg(QDir::toNativeSeparators(outDir)));
    addRun(outDir);
    if (!achieved.empty()) tabs_->setCurrentWidget(allocation_);
    Q_EMIT pruneFinished(outDir);
}

void MainWindow::addRun(const QString& dir) {
    runs_.append(dir);
    showRuns();
    setModified(true);
}

void MainWindow::showRuns() {
    reports_->setRuns(runs_);
    recovery_->setRuns(runs_);
    compare_->setRuns(runs_);
}

void MainWindow::planChanged() {
    setModified(true);
    recovery_->setPlan(planPanel_->plan());
    if (!map_) return;
    const Plan p = planPanel_->plan();
    bool structured = false;
    for (const CatalogEntry& m : method_catalog())
        if (m.id == p.method) structured = m.structured;
    if (structured) {
        allocation_->setPlanned({}, p.sparsity,
                                tr("%1 removes whole heads, channels or blocks per tower; the result shows after the run.")
                                    .arg(QString::fromStdString(p.method)));
        return;
    }
    try {
        const auto planned = allocate(p, *map_);
        const QString kind = QString::fromStdString(p.allocation.kind);
        allocation_->setPlanned(planned, p.sparsity,
                                kind == "uniform" || kind == "modality"
                                    ? tr("Planned by the Plan's %1 allocation; double-click a value to override it.").arg(kind)
                                    : tr("Start map: the %1 allocator redistributes it on calibration data during the run.").arg(kind));
    } catch (const std::exception& e) {
        allocation_->setPlanned({}, p.sparsity, tr("The Plan cannot be allocated: %1").arg(QString::fromUtf8(e.what())));
    }
}

void MainWindow::overrideEdited(const QString& linear, double sparsity) {
    Plan p = planPanel_->plan();
    p.overrides[linear.toStdString()] = sparsity;
    planPanel_->setPlan(p);
}

void MainWindow::showModel(const QString& dir, std::shared_ptr<const ModelMap> map) {
    map_ = std::move(map);
    currentDir_ = dir;
    tree_->setModel(*map_);
    chart_->setModel(*map_);
    allocation_->setModel(*map_);
    compare_->setModel(*map_);
    tokens_->setCheckpoint(dir);
    const QString name = QFileInfo(QDir::cleanPath(dir)).fileName();
    setWindowTitle(QString("PruneStudio — %1[*]").arg(name));
    modelLabel_->setText(tr("%1 · %2 parameters")
                             .arg(QString::fromStdString(map_->family_display),
                                  QString::fromStdString(format_count(map_->total_params))));
    statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(QString::fromStdString(map_->dir))), 5000);
    jobPanel_->appendLog(tr("opened %1: %2, %3 parameters")
                             .arg(QDir::toNativeSeparators(dir), QString::fromStdString(map_->family_display),
                                  QString::fromStdString(format_count(map_->total_params))));
    if (pendingPlan_) {  // a project being opened: its Plan and its last run's result
        const bool wasModified = modified_;
        planPanel_->setPlan(*pendingPlan_);
        pendingPlan_.reset();
        if (!runs_.isEmpty()) {
            try {
                const nlohmann::json result = read_json_file(runs_.last().toStdString() + "/result.json");
                allocation_->setPlanned(allocationOf(result), planPanel_->plan().sparsity,
                                        tr("Allocation of the run in %1").arg(QDir::toNativeSeparators(runs_.last())));
                allocation_->setAchieved(achievedOf(result));
                tree_->setSparsity(achievedOf(result));
            } catch (const std::exception& e) {
                statusBar()->showMessage(QString::fromUtf8(e.what()), 8000);
            }
        }
        setModified(wasModified);
    } else {
        Plan p = planPanel_->plan();
        p.model = dir.toStdString();
        planPanel_->setPlan(p);
    }
    Q_EMIT checkpointLoaded(dir);
}

bool MainWindow::saveProject(const QString& path) {
    try {
        Project p;
        p.model = currentDir_;
        p.plan = planPanel_->plan();
        p.runs = runs_;
        p.sweeps = sweeps_;
        p.save(path);
    } catch (const std::exception& e) {
        showError(tr("Could not save the project"), QString::fromUtf8(e.what()));
        return false;
    }
    projectPath_ = path;
    addRecent(path);
    setModified(false);
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

bool MainWindow::openProject(const QString& path) {
    Project p;
    try {
        p = Project::load(path);
    } catch (const std::exception& e) {
        showError(tr("Could not open the project"), QString::fromUtf8(e.what()));
        return false;
    }
    projectPath_ = path;
    runs_ = p.runs;
    sweeps_ = p.sweeps;
    showRuns();
    for (const QString& dir : sweeps_) {  // the tabs show the newest sweep of each kind
        try {
            const std::string path = dir.toStdString() + "/sweep.json";
            const SweepResult r = SweepResult::from_json(read_json_file(path), path);
            if (r.has_grid()) {
                grid_->setSweep(r, QDir::toNativeSeparators(dir));
            } else {
                curves_->setSweep(r, QDir::toNativeSeparators(dir));
                reports_->setSweep(dir);
            }
        } catch (const std::exception& e) {
            jobPanel_->appendLog(QString::fromUtf8(e.what()));
        }
    }
    jobPanel_->appendLog(tr("opened project %1 (%2 runs)").arg(QDir::toNativeSeparators(path)).arg(runs_.size()));
    addRecent(path);
    if (p.model.isEmpty()) {
        planPanel_->setPlan(p.plan);
    } else {
        pendingPlan_ = std::make_unique<Plan>(p.plan);
        openCheckpoint(p.model);
    }
    setModified(false);
    return true;
}

void MainWindow::chooseProjectToOpen() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open project"), QDir::homePath(), tr("PruneStudio projects (*.psproj)"));
    if (!path.isEmpty()) openProject(path);
}

bool MainWindow::saveProjectInteractive(bool askPath) {
    QString path = projectPath_;
    if (askPath || path.isEmpty()) {
        path = QFileDialog::getSaveFileName(this, tr("Save project"), QDir::homePath() + "/untitled.psproj",
                                            tr("PruneStudio projects (*.psproj)"));
        if (path.isEmpty()) return false;
        if (!path.endsWith(".psproj")) path += ".psproj";
    }
    return saveProject(path);
}

void MainWindow::setModified(bool modified) {
    modified_ = modified;
    setWindowModified(modified);
}

void MainWindow::addRecent(const QString& path) {
    QSettings settings;
    QStringList recent = settings.value("recentProjects").toStringList();
    recent.removeAll(path);
    recent.prepend(QFileInfo(path).absoluteFilePath());
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings.setValue("recentProjects", recent);
    fillRecentMenu();
}

void MainWindow::fillRecentMenu() {
    recentMenu_->clear();
    const QStringList recent = QSettings().value("recentProjects").toStringList();
    for (const QString& path : recent) recentMenu_->addAction(QDir::toNativeSeparators(path), this, [this, path] { openProject(path); });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (showErrorDialogs_ && jobs_->isRunning()) {
        if (QMessageBox::question(this, tr("A job is running"), tr("Cancel \"%1\" and quit?").arg(jobs_->currentTitle())) !=
            QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    if (showErrorDialogs_ && modified_) {
        const auto answer = QMessageBox::question(this, tr("Unsaved changes"), tr("Save the project before closing?"),
                                                  QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
        if (answer == QMessageBox::Cancel || (answer == QMessageBox::Save && !saveProjectInteractive(false))) {
            event->ignore();
            return;
        }
    }
    jobs_->cancel();
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    settings.setValue("window/tab", tabs_->currentIndex());
    event->accept();
}

void MainWindow::showAbout() {
    const RuntimeInfo rt = runtime_info();
    QMessageBox::about(this, tr("About PruneStudio"),
                       tr("<b>PruneStudio %1</b><p>Structured and unstructured pruning of vision-language "
                          "models, from checkpoint to evaluated result.</p><p>Qt %2 · torch %3 · device %4</p>")
                           .arg(QString(PRUNESTUDIO_VERSION), QString(qVersion()),
                                QString::fromStdString(rt.torch_version), QString::fromStdString(rt.default_device)));
}

void MainWindow::showError(const QString& title, const QString& message) {
    statusBar()->showMessage(message.section('\n', 0, 0), 8000);
    Q_EMIT failed(message);
    if (showErrorDialogs_) QMessageBox::critical(this, title, message);
}

}  // namespace ps
