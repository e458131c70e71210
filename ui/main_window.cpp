#include "ui/main_window.h"

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QFutureWatcher>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>
#include <memory>

#include "core/error.h"
#include "core/model/model_map.h"
#include "core/report/model_summary.h"
#include "core/runtime.h"
#include "ui/block_chart.h"
#include "ui/model_tree.h"

namespace ps {
namespace {

// What the worker hands back: the map, or the one-line error that stopped it.
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

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      tree_(new ModelTree(this)),
      chart_(new BlockChart(this)),
      modelLabel_(new QLabel(this)),
      deviceLabel_(new QLabel(this)) {
    setWindowTitle("PruneStudio");
    resize(1280, 800);
    setCentralWidget(chart_);

    auto* dock = new QDockWidget(tr("Layers"), this);
    dock->setObjectName("layersDock");
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    dock->setWidget(tree_);
    addDockWidget(Qt::LeftDockWidgetArea, dock);
    resizeDocks({dock}, {560}, Qt::Horizontal);

    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open checkpoint folder…"), this, &MainWindow::chooseCheckpoint);
    open->setShortcut(QKeySequence::Open);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About PruneStudio"), this, &MainWindow::showAbout);

    const RuntimeInfo rt = runtime_info();
    deviceLabel_->setText(tr("device: %1 · torch %2")
                              .arg(QString::fromStdString(rt.default_device), QString::fromStdString(rt.torch_version)));
    auto* separator = new QFrame(this);
    separator->setFrameShape(QFrame::VLine);
    separator->setFrameShadow(QFrame::Sunken);
    modelLabel_->setContentsMargins(8, 0, 8, 0);
    deviceLabel_->setContentsMargins(8, 0, 8, 0);
    statusBar()->addPermanentWidget(modelLabel_);
    statusBar()->addPermanentWidget(separator);
    statusBar()->addPermanentWidget(deviceLabel_);
    statusBar()->showMessage(tr("Open a checkpoint folder to begin (Ctrl+O)"));
}

void MainWindow::openCheckpoint(const QString& dir) {
    const int serial = ++loadSerial_;
    statusBar()->showMessage(tr("Reading %1…").arg(QDir::toNativeSeparators(dir)));
    auto* watcher = new QFutureWatcher<LoadResult>(this);
    connect(watcher, &QFutureWatcher<LoadResult>::finished, this, [this, watcher, serial, dir] {
        const LoadResult r = watcher->result();
        watcher->deleteLater();
        if (serial != loadSerial_) return;  // a newer request superseded this one
        if (r.map) showModel(dir, *r.map);
        else showError(r.error);
    });
    watcher->setFuture(QtConcurrent::run(load, dir.toStdString()));
}

void MainWindow::chooseCheckpoint() {
    const QString start = currentDir_.isEmpty() ? QDir::homePath() : QFileInfo(currentDir_).absolutePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open checkpoint folder"), start);
    if (!dir.isEmpty()) openCheckpoint(dir);
}

void MainWindow::showAbout() {
    const RuntimeInfo rt = runtime_info();
    QMessageBox::about(this, tr("About PruneStudio"),
                       tr("<b>PruneStudio %1</b><p>Structured and unstructured pruning of vision-language "
                          "models, from checkpoint to evaluated result.</p><p>Qt %2 · torch %3 · device %4</p>")
                           .arg(QString(PRUNESTUDIO_VERSION), QString(qVersion()),
                                QString::fromStdString(rt.torch_version), QString::fromStdString(rt.default_device)));
}

void MainWindow::showModel(const QString& dir, const ModelMap& map) {
    currentDir_ = dir;
    tree_->setModel(map);
    chart_->setModel(map);
    const QString name = QFileInfo(QDir::cleanPath(dir)).fileName();
    setWindowTitle(QString("PruneStudio — %1").arg(name));
    modelLabel_->setText(tr("%1 · %2 parameters")
                             .arg(QString::fromStdString(map.family_display),
                                  QString::fromStdString(format_count(map.total_params))));
    statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(QString::fromStdString(map.dir))), 5000);
    Q_EMIT checkpointLoaded(dir);
}

void MainWindow::showError(const QString& message) {
    statusBar()->showMessage(tr("Could not open checkpoint"), 5000);
    Q_EMIT loadFailed(message);
    if (showErrorDialogs_) QMessageBox::critical(this, tr("Could not open checkpoint"), message);
}

}  // namespace ps
