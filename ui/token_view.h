// The Tokens tab: the image the model saw with its token-importance heatmap, a block slider, the
// importance metric, a keep-ratio slider marking the tokens run-time pruning drops, and a list of
// images — test images of the default data and the user's own, dropped onto the tab or added with
// a button. Scoring runs on a worker thread; only the newest request is shown.
#pragma once
#include <QWidget>
#include <memory>

class QComboBox;
class QLabel;
class QListWidget;
class QSlider;

namespace ps {

class HeatmapSession;
struct HeatmapImage;

class TokenView : public QWidget {
    Q_OBJECT
public:
    explicit TokenView(QWidget* parent = nullptr);
    ~TokenView() override;

    // Loads the checkpoint for scoring in the background; `ready` follows, or `failed`.
    void setCheckpoint(const QString& dir);
    // Adds an image file to the list and shows it.
    void addImage(const QString& path);

    QListWidget* imageList() const { return images_; }
    QSlider* blockSlider() const { return block_; }
    QSlider* keepSlider() const { return keep_; }
    QComboBox* metricBox() const { return metric_; }
    // The heatmap shown last; nullptr before the first.
    const HeatmapImage* current() const { return current_.get(); }

Q_SIGNALS:
    void ready(int blocks);
    void rendered();
    void failed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void request();
    void showPicture();

    std::shared_ptr<const HeatmapSession> session_;
    std::unique_ptr<HeatmapImage> current_;
    int serial_ = 0;  // the newest request; older results are dropped
    QListWidget* images_;
    QComboBox* metric_;
    QSlider* block_;
    QSlider* keep_;
    QLabel* blockValue_;
    QLabel* keepValue_;
    QLabel* picture_;
    QLabel* info_;
};

}  // namespace ps
