// The Curves tab: a sweep's zero-shot accuracy against target sparsity, one line per method and
// pattern (and token keep ratio) with the dense accuracy dashed; or the Pareto view — every point
// at its nonzero parameters or FLOPs per sample (% of dense) with the front joined. Hovering a
// point names its Plan and figures; the chart exports as PNG, SVG or PDF.
#pragma once
#include <QString>
#include <QWidget>
#include <vector>

#include "core/job/sweep.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;

namespace ps {

class CurvesView : public QWidget {
    Q_OBJECT
public:
    enum Mode { Sparsity, ParetoParams, ParetoFlops };

    explicit CurvesView(QWidget* parent = nullptr);

    void setSweep(const SweepResult& sweep, const QString& source);
    void setMode(Mode mode);
    Mode mode() const { return mode_; }

    QCustomPlot* plot() const { return plot_; }
    QComboBox* modeBox() const { return modeBox_; }
    int curveCount() const;  // lines and scatters drawn (the dense line not counted)
    // The tooltip for the point nearest to `pixel` within 10 px, empty when none.
    QString tipAt(const QPoint& pixel) const;
    // Pixel position of the `index`-th point of the sweep in the current mode.
    QPoint pixelOf(size_t index) const;

public Q_SLOTS:
    // By the file's extension (.png, .svg, .pdf), atomically; false with `error` naming the file
    // otherwise (another extension, an unwritable folder).
    bool exportTo(const QString& path, QString* error = nullptr);
    void exportInteractive();

Q_SIGNALS:
    void exportFailed(const QString& message);

private:
    struct Marker {
        double x, y;
        size_t point;
    };
    void redraw();
    void showTip(QMouseEvent* event);

    SweepResult sweep_;
    Mode mode_ = Sparsity;
    std::vector<Marker> markers_;
    QLabel* source_;
    QComboBox* modeBox_;
    QCustomPlot* plot_;
};

}  // namespace ps
