// The Tokens tab: the image a model saw with its token-importance heatmap, a block slider, the
// importance metrics that model supports, a keep-ratio slider marking the tokens run-time pruning
// drops, a switch to compare every token method the model can show side by side (what each keeps
// at the keep ratio, in a grid over the same image), and a list of images — test images of the
// default data, labelled with their class, and
// the user's own, dropped onto the tab or added with a button. The model is the dense checkpoint or
// any pruned run, and the tab says which. Scoring runs on a worker thread; only the newest request
// is shown. What keeps a model from being scored is said in the tab itself, never in a dialog.
#pragma once
#include <QImage>
#include <QStringList>
#include <QWidget>
#include <memory>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QSlider;

namespace ps {

class HeatmapSession;
struct HeatmapImage;
struct HeatmapRequest;

class TokenView : public QWidget {
    Q_OBJECT
public:
    explicit TokenView(QWidget* parent = nullptr);
    ~TokenView() override;

    // The dense checkpoint: shown, and loaded for scoring in the background; `ready` follows, or `failed`.
    void setCheckpoint(const QString& dir);
    // Pruned runs offered beside the dense checkpoint.
    void setRuns(const QStringList& runs);
    // Adds an image file to the list and shows it.
    void addImage(const QString& path);

    QListWidget* imageList() const { return images_; }
    QSlider* blockSlider() const { return block_; }
    QSlider* keepSlider() const { return keep_; }
    QComboBox* metricBox() const { return metric_; }
    QComboBox* modelBox() const { return model_; }
    QCheckBox* compareBox() const { return compare_; }
    // The heatmap shown last; nullptr before the first.
    const HeatmapImage* current() const { return current_.get(); }
    // The methods shown side by side last (compareBox checked), one image each.
    const std::vector<HeatmapImage>& compared() const { return compared_; }

Q_SIGNALS:
    void ready(int blocks);
    void rendered();
    // What the tab now shows in place of a heatmap (it shows it itself).
    void failed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;  // the picture's area resized: the picture follows

private:
    void load(const QString& dir);  // the model to score: the dense checkpoint or a run
    void request();
    void requestComparison(const HeatmapRequest& r, int serial);
    void showPicture();
    void showProblem(const QString& message);
    QString modelName() const;  // "the dense model (name)" or "the pruned run name"

    std::shared_ptr<const HeatmapSession> session_;
    std::unique_ptr<HeatmapImage> current_;
    std::vector<HeatmapImage> compared_;
    QImage comparison_;                // compared_ as one grid with captions
    std::vector<std::string> methods_;  // the token methods this model can show side by side
    int serial_ = 0;  // the newest request; older results are dropped
    bool classesShown_ = false;
    QString limits_;  // what the model's checkpoint lacks for the metrics not offered
    QComboBox* model_;
    QListWidget* images_;
    QComboBox* metric_;
    QCheckBox* compare_;
    QSlider* block_;
    QSlider* keep_;
    QLabel* blockValue_;
    QLabel* keepValue_;
    QLabel* picture_;
    QLabel* info_;
};

}  // namespace ps
