// The main window: layer tree docked on the left, block chart in the centre, compute device and
// open model in the status bar. Checkpoints are read on a worker thread so the GUI never blocks.
#pragma once
#include <QMainWindow>
#include <QString>

class QLabel;

namespace ps {

class BlockChart;
class ModelTree;
struct ModelMap;

class MainWindow : public QMainWindow {
    Q_OBJECT
    Q_PROPERTY(bool showErrorDialogs READ showErrorDialogs WRITE setShowErrorDialogs)
public:
    explicit MainWindow(QWidget* parent = nullptr);

    ModelTree* modelTree() const { return tree_; }
    BlockChart* blockChart() const { return chart_; }

    // Whether a failed load also pops up a message box (tests turn it off; loadFailed is always emitted).
    bool showErrorDialogs() const { return showErrorDialogs_; }
    void setShowErrorDialogs(bool show) { showErrorDialogs_ = show; }

public Q_SLOTS:
    // Inspects the checkpoint folder `dir` in the background, then shows it. On failure the
    // previously shown model stays. When called again before a load ends, only the last one counts.
    void openCheckpoint(const QString& dir);

Q_SIGNALS:
    void checkpointLoaded(const QString& dir);
    void loadFailed(const QString& message);

private:
    void chooseCheckpoint();
    void showAbout();
    void showModel(const QString& dir, const ModelMap& map);
    void showError(const QString& message);

    ModelTree* tree_;
    BlockChart* chart_;
    QLabel* modelLabel_;
    QLabel* deviceLabel_;
    QString currentDir_;
    int loadSerial_ = 0;  // identifies the newest openCheckpoint call
    bool showErrorDialogs_ = true;
};

}  // namespace ps
