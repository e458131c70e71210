#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QCoreApplication>
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
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <cmath>
#include <exception>
#include <optional>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/run_score.h"
#include "core/job/sweep.h"
#include "core/model/model_map.h"
#include "core/prune/allocation.h"
#include "core/prune/catalog.h"
#include "core/report/model_summary.h"
#include "core/runtime.h"
#include "ui/allocation_view.h"
#include "ui/ask_panel.h"
#include "ui/block_chart.h"
#include "ui/compare_view.h"
#include "ui/curves_view.h"
#include "ui/help_browser.h"
#include "ui/job_controller.h"
#include "ui/job_panel.h"
#include "ui/modality_grid_view.h"
#include "ui/model_tree.h"
#include "ui/plan_panel.h"
#include "ui/project.h"
#include "ui/recovery_view.h"
#include "ui/report_view.h"
#include "ui/sweep_dialog.h"
#include "ui/token_view.h"

namespace ps {
namespace {

// A built-in model folder beside the executable: build/<name> from build/app/, or
// share/prunestudio/<name> of an installed package; "" when neither holds one.
QString builtinModelDir(const QString& name) {
    const QDir app(QCoreApplication::applicationDirPath());
    for (const QString& candidate : {app.filePath("../" + name), app.filePath("../share/prunestudio/" + name)})
        if (QFileInfo::exists(candidate + "/config.json")) return QDir::cleanPath(candidate);
    return {};
}

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

// A sparsity as a percentage for labels and folder names: "50" or "66.4".
QString percentLabel(double fraction) {
    const double p = 100 * fraction;
    return std::abs(p - std::round(p)) < 0.05 ? QString::number(std::lround(p)) : QString::number(p, 'f', 1);
}

// The Allocation tab's line above a run's bars.
QString runAllocationNote(const QString& dir, double target) {
    return QObject::tr("Allocation of the run in %1: %2 % overall").arg(QDir::toNativeSeparators(dir), percentLabel(target));
}

// What a run targets overall: its allocation's parameter-weighted mean, or (structured runs) the Plan's.
double overallTarget(const Plan& plan, const std::map<std::string, double>& allocation, const ModelMap& map) {
    return allocation.empty() ? plan.sparsity : overall_sparsity(allocation, map);
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      tree_(new ModelTree(this)),
      chart_(new BlockChart(this)),
      allocation_(new AllocationView(this)),
      grid_(new ModalityGridView(this)),
      curves_(new CurvesView(this)),
      tokens_(new TokenView(this)),
      ask_(new AskPanel(this)),
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
    tabs_->addTab(ask_, tr("Ask"));
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
    auto* planSide = new QWidget(this);
    auto* planLayout = new QVBoxLayout(planSide);
    planLayout->setContentsMargins(0, 0, 0, 4);
    planLayout->addWidget(scroll, 1);
    auto* actionBar = new QHBoxLayout;  // filled with the Run menu's main actions in buildMenus()
    actionBar->setContentsMargins(8, 0, 8, 0);
    planLayout->addLayout(actionBar);
    QDockWidget* plan = dock(tr("Plan"), "planDock", planSide, Qt::RightDockWidgetArea);
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
    connect(reports_, &ReportView::reportBuilt, compare_, &CompareView::refresh);
    connect(jobs_, &JobController::runningChanged, this, [this](bool running) {
        updateActions();
        if (!running) QTimer::singleShot(0, this, &MainWindow::scoreNext);  // after the finished job's signals
    });
    buildMenus();
    for (QAction* a : {pruneAction_, recoverAction_, sweepAction_}) {
        auto* button = new QToolButton(planSide);
        button->setDefaultAction(a);  // its text, enabled state and tooltip follow the action
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        button->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        button->setObjectName(a->objectName() + "Button");
        actionBar->addWidget(button);
    }
    updateActions();
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
    QMenu* builtin = file->addMenu(tr("Open &built-in model"));
    const std::pair<QString, QString> models[] = {
        {tr("&Generative default: LLaVA on SmolLM2-135M (Fashion-MNIST)"), "default-vlm"},
        {tr("&Dual encoder: ViT + MiniLM (Fashion-MNIST)"), "default-model"}};
    for (const auto& [label, name] : models) {
        const QString dir = builtinModelDir(name);
        QAction* open = builtin->addAction(label, this, [this, dir] { openCheckpoint(dir); });
        open->setEnabled(!dir.isEmpty());
        open->setStatusTip(dir.isEmpty() ? tr("not built: packaging/run.sh builds it") : QDir::toNativeSeparators(dir));
    }
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
    run->setToolTipsVisible(true);  // a disabled action says why
    pruneAction_ = run->addAction(tr("&Prune…"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::choosePruneFolder);
    sweepAction_ = run->addAction(tr("&Sweep…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this, [this] { chooseSweepFolder(false); });
    gridAction_ = run->addAction(tr("Sweep &vision × language grid…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G), this,
                                 [this] { chooseSweepFolder(true); });
    run->addSeparator();
    recoverAction_ = run->addAction(tr("&Recover"), QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] {
        tabs_->setCurrentWidget(recovery_);
        recovery_->start();
    });
    resumeAction_ = run->addAction(tr("Res&ume recovery"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, [this] {
        tabs_->setCurrentWidget(recovery_);
        recovery_->resume();
    });
    run->addSeparator();
    cancelAction_ = run->addAction(tr("&Cancel job"), QKeySequence(Qt::Key_Escape), jobs_, &JobController::cancel);
    const std::pair<QAction*, const char*> named[] = {{pruneAction_, "pruneAction"},     {sweepAction_, "sweepAction"},
                                                      {gridAction_, "gridAction"},       {recoverAction_, "recoverAction"},
                                                      {resumeAction_, "resumeAction"},   {cancelAction_, "cancelAction"}};
    for (const auto& [a, name] : named) a->setObjectName(name);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < tabs_->count(); ++i)
        view->addAction(tabs_->tabText(i), QKeySequence(Qt::CTRL | (Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
    view->addSeparator();
    for (QDockWidget* d : findChildren<QDockWidget*>()) view->addAction(d->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Quick start"), QKeySequence::HelpContents, this,
                    [this] { showHelp(tr("Quick start"), HelpBrowser::quickStart()); });
    help->addAction(tr("&Keyboard shortcuts"), this, [this] {
        showHelp(tr("Keyboard shortcuts"), HelpBrowser::shortcuts(findChildren<QAction*>()));
    });
    QMenu* guides = help->addMenu(tr("&Documentation"));
    for (const auto& [title, markdown] : HelpBrowser::guides())
        guides->addAction(title, this, [this, title = title, markdown = markdown] { showHelp(title, markdown); });
    guides->setEnabled(!guides->isEmpty());
    help->addSeparator();
    help->addAction(tr("&About PruneStudio"), this, &MainWindow::showAbout);
}

void MainWindow::updateActions() {
    const bool running = jobs_->isRunning();
    // Why the model cannot be pruned, swept or recovered here; empty when it can.
    QString reason;
    if (!map_) reason = tr("Open a checkpoint folder first (Ctrl+O)");
    else if (!map_->runnable)
        reason = tr("%1 can be inspected but not yet run, so it cannot be pruned, swept or recovered here")
                     .arg(QString::fromStdString(map_->family_display));
    const std::pair<QAction*, QString> tips[] = {
        {pruneAction_, tr("Prune the open model as the Plan says, into a new folder (Ctrl+R)")},
        {sweepAction_, tr("Prune and score the open model at several methods, patterns and sparsities (Ctrl+Shift+R)")},
        {gridAction_, tr("Prune and score a grid of vision × language sparsities (Ctrl+Shift+G)")},
        {recoverAction_, tr("Recover a pruned run with the Plan's recovery settings (Ctrl+E)")},
        {resumeAction_, tr("Resume a cancelled recovery from its last saved step (Ctrl+Shift+E)")}};
    for (const auto& [a, tip] : tips) {
        a->setEnabled(!running && reason.isEmpty());
        a->setToolTip(!reason.isEmpty() ? reason : running ? tr("A job is running: wait for it or cancel it (Esc)") : tip);
    }
    cancelAction_->setEnabled(running);
}

void MainWindow::showHelp(const QString& title, const QString& markdown) {
    auto* help = new HelpBrowser(title, markdown, this);
    help->show();
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

QString MainWindow::proposedFolder(const QString& name) const {
    const QString last = QSettings().value("paths/output").toString();
    const QDir dir = !last.isEmpty() && QFileInfo(last).isDir() ? QDir(last) : QFileInfo(QDir::cleanPath(currentDir_)).dir();
    QString proposal = dir.filePath(name);
    for (int i = 2; QFileInfo::exists(proposal); ++i) proposal = dir.filePath(QString("%1-%2").arg(name).arg(i));
    return proposal;
}

void MainWindow::rememberOutputFolder(const QString& chosen) {
    QSettings().setValue("paths/output", QFileInfo(QDir::cleanPath(chosen)).absolutePath());
}

QString MainWindow::proposedPruneFolder() const {
    const Plan p = planPanel_->plan();
    return proposedFolder(QString("%1-%2-%3-%4")
                              .arg(QFileInfo(QDir::cleanPath(currentDir_)).fileName(), QString::fromStdString(p.method),
                                   QString::fromStdString(p.pattern).replace(':', '-'), percentLabel(p.sparsity)));
}

void MainWindow::choosePruneFolder() {
    if (!pruneAction_->isEnabled()) return;
    const QString out = QFileDialog::getSaveFileName(this, tr("Prune into a new folder"), proposedPruneFolder(), QString(), nullptr,
                                                     QFileDialog::ShowDirsOnly);
    if (out.isEmpty()) return;
    rememberOutputFolder(out);
    pruneTo(out);
}

bool MainWindow::pruneTo(const QString& outDir) {
    if (jobs_->isRunning() || !map_ || !map_->runnable) return false;
    Plan plan = planPanel_->plan();
    plan.model = currentDir_.toStdString();
    const std::string out = outDir.toStdString();
    const QString title = tr("Prune %1 (%2 %3, %4 %)")
                              .arg(QFileInfo(outDir).fileName(), QString::fromStdString(plan.method),
                                   QString::fromStdString(plan.pattern), percentLabel(plan.sparsity));
    return jobs_->start(title, [this, plan, out, outDir, map = map_](const JobControl& job) -> JobController::Deliver {
        const PruneRunSummary s = run_prune(plan, out, job);
        auto allocation = s.allocation;
        auto achieved = achievedOf(s.result);
        const double target = overallTarget(plan, allocation, *map);
        const QString text = QString::fromStdString(s.text);
        return [this, outDir, allocation, target, achieved, text] { showRunResult(outDir, allocation, target, achieved, text); };
    });
}

bool MainWindow::sweepTo(const QString& dir, const SweepSpec& spec, const std::optional<Plan>& base) {
    if (jobs_->isRunning() || !map_ || !map_->runnable) return false;
    Plan plan = base ? *base : planPanel_->plan();
    plan.model = currentDir_.toStdString();
    const std::string out = dir.toStdString();
    size_t points = 0;
    try {  // every point's Plan, checked before the job starts
        points = sweep_plans(plan, spec).size();
    } catch (const std::exception& e) {
        showError(tr("Sweep"), QString::fromUtf8(e.what()));
        return false;
    }
    const QString title = spec.vision.empty() ? tr("Sweep %1 points into %2").arg(points).arg(QFileInfo(dir).fileName())
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
    if (!sweepAction_->isEnabled()) return;
    SweepSpec spec;
    spec.eval_limit = 1000;
    std::optional<Plan> sweepBase;  // the dialog's, else the Plan panel's
    if (grid) {
        spec.vision = spec.language = {0.0, 0.2, 0.4, 0.6, 0.8};
    } else {
        // What a point costs, from this checkpoint's runs: their pruning time per method, and the
        // quickest scoring per test image of one model among them (the dense model is scored once).
        SweepDialog::Timings timings;
        for (const QString& run : runs_) {
            try {
                const nlohmann::json plan = read_json_file(run.toStdString() + "/plan.json");
                if (QFileInfo(QString::fromStdString(plan.value("model", std::string()))).canonicalFilePath() !=
                    QFileInfo(currentDir_).canonicalFilePath())
                    continue;
                const nlohmann::json result = read_json_file(run.toStdString() + "/result.json");
                if (result.contains("seconds")) timings.prune_seconds[plan.value("method", std::string())] = result["seconds"].get<double>();
                const RunScore score = RunScore::from_json(read_json_file(run.toStdString() + "/score.json"), run.toStdString());
                if (score.metric == kZeroShotTop1 && score.samples > 0) {
                    const double perImage = score.seconds / static_cast<double>(score.samples);
                    if (timings.seconds_per_image < 0 || perImage < timings.seconds_per_image) timings.seconds_per_image = perImage;
                }
            } catch (const std::exception&) {  // a run without these files: no timing from it
            }
        }
        Plan base = planPanel_->plan();
        base.model = currentDir_.toStdString();
        SweepDialog dialog(base, timings, this);
        if (dialog.exec() != QDialog::Accepted) return;
        spec = dialog.spec();
        sweepBase = dialog.base();
    }
    const QString dir = QFileDialog::getSaveFileName(this, tr("Sweep into a folder (an existing sweep folder reuses its cache)"),
                                                     proposedFolder(QFileInfo(QDir::cleanPath(currentDir_)).fileName() +
                                                                    (grid ? "-grid" : "-sweep")),
                                                     QString(), nullptr, QFileDialog::DontConfirmOverwrite);
    if (dir.isEmpty()) return;
    rememberOutputFolder(dir);
    sweepTo(dir, spec, sweepBase);
}

void MainWindow::chooseSweepToOpen() {
    const QString last = QSettings().value("paths/output").toString();  // where sweeps were last written
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a sweep folder (with sweep.json)"),
                                                          last.isEmpty() ? QDir::homePath() : last);
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

void MainWindow::showRunResult(const QString& outDir, const std::map<std::string, double>& allocation, double target,
                               const std::map<std::string, double>& achieved, const QString& text) {
    if (!allocation.empty())
        allocation_->setPlanned(allocation, target, runAllocationNote(outDir, target));
    allocation_->setAchieved(achieved);
    allocation_->setScore(tr("%1: scoring…").arg(QFileInfo(outDir).fileName()));
    tree_->setSparsity(achieved);
    for (const QString& line : text.split('\n', Qt::SkipEmptyParts)) jobPanel_->appendLog(line);
    jobPanel_->appendLog(tr("wrote %1").arg(QDir::toNativeSeparators(outDir)));
    addRun(outDir);
    if (!achieved.empty()) tabs_->setCurrentWidget(allocation_);
    scoreRun(outDir);
    Q_EMIT pruneFinished(outDir);
}

void MainWindow::scoreRun(const QString& dir) {
    if (!pendingScores_.contains(dir)) pendingScores_.append(dir);
    if (!jobs_->isRunning()) QTimer::singleShot(0, this, &MainWindow::scoreNext);
}

void MainWindow::scoreNext() {
    if (pendingScores_.isEmpty() || jobs_->isRunning()) return;
    const QString dir = pendingScores_.takeFirst();
    const QString name = QFileInfo(dir).fileName();
    jobs_->start(tr("Score %1").arg(name), [this, dir, name](const JobControl& job) -> JobController::Deliver {
        const RunScore score = score_run(dir.toStdString(), ScoreOptions{}, job);
        const QString text = tr("%1: %2%3").arg(name, QString::fromStdString(score.to_text()), score.cached ? tr(" (from score.json)") : QString());
        return [this, dir, text] {
            jobPanel_->appendLog(text);
            if (!runs_.isEmpty() && runs_.last() == dir) allocation_->setScore(text);
            compare_->refresh();
            Q_EMIT runScored(dir, text);
        };
    });
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
    tokens_->setRuns(runs_);
    ask_->setRuns(runs_);
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
        const double overall = overall_sparsity(planned, *map_);
        const QString kind = QString::fromStdString(p.allocation.kind);
        allocation_->setPlanned(planned, overall,
                                kind == "uniform" || kind == "modality"
                                    ? tr("Planned by the Plan's %1 allocation: %2 % of the targeted weights overall; "
                                         "double-click a value to override it.")
                                          .arg(kind, percentLabel(overall))
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
    planPanel_->setModel(map_);
    updateActions();
    tree_->setModel(*map_);
    chart_->setModel(*map_);
    allocation_->setModel(*map_);
    compare_->setModel(*map_);
    tokens_->setCheckpoint(dir);
    ask_->setCheckpoint(dir, map_->capabilities.generative());
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
                const QString run = runs_.last();
                const nlohmann::json result = read_json_file(run.toStdString() + "/result.json");
                const auto planned = allocationOf(result);
                const double target = result.contains("total") && result["total"].contains("target")
                                          ? result["total"]["target"].get<double>()
                                          : overallTarget(planPanel_->plan(), planned, *map_);
                allocation_->setPlanned(planned, target, runAllocationNote(run, target));
                allocation_->setAchieved(achievedOf(result));
                tree_->setSparsity(achievedOf(result));
                if (QFileInfo::exists(run + "/score.json")) scoreRun(run);  // shows the score kept there
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
        p.calibrationFolders = planPanel_->calibrationFolders();
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
    planPanel_->setCalibrationFolders(p.calibrationFolders);
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
