#include "ui/curves_view.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSvgGenerator>
#include <QToolTip>
#include <QVBoxLayout>
#include <filesystem>
#include <map>
#include <qcustomplot.h>

#include "ui/chart_style.h"

namespace ps {

CurvesView::CurvesView(QWidget* parent)
    : QWidget(parent), source_(new QLabel(this)), modeBox_(new QComboBox(this)), plot_(new QCustomPlot(this)) {
    modeBox_->addItem(tr("Score vs sparsity"), Sparsity);
    modeBox_->addItem(tr("Pareto: score vs nonzero parameters"), ParetoParams);
    modeBox_->addItem(tr("Pareto: score vs FLOPs per sample"), ParetoFlops);
    modeBox_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    modeBox_->setMinimumContentsLength(24);
    source_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // a long folder name never widens the tab
    auto* exportButton = new QPushButton(tr("Export…"), this);
    exportButton->setToolTip(tr("Save the chart as PNG, SVG or PDF"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(source_, 1);
    bar->addWidget(modeBox_);
    bar->addWidget(exportButton);
    plot_->setAntialiasedElements(QCP::aeAll);
    plot_->legend->setVisible(true);
    plot_->legend->setFont(QFont(font().family(), font().pointSize() - 1));
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    plot_->yAxis->setLabel(tr("score"));
    plot_->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    plot_->xAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(plot_, 1);
    connect(modeBox_, &QComboBox::currentIndexChanged, this, [this] { setMode(static_cast<Mode>(modeBox_->currentData().toInt())); });
    connect(exportButton, &QPushButton::clicked, this, &CurvesView::exportInteractive);
    connect(plot_, &QCustomPlot::mouseMove, this, &CurvesView::showTip);
    source_->setText(tr("No sweep yet: Run → Sweep methods × sparsities, or File → Open sweep"));
    redraw();
}

void CurvesView::setSweep(const SweepResult& sweep, const QString& source) {
    sweep_ = sweep;
    source_->setText(tr("%1 — %2 points scored by %3, dense %4")
                         .arg(source)
                         .arg(sweep.points.size())
                         .arg(QString::fromStdString(sweep.metric_label()))
                         .arg(sweep.dense_accuracy, 0, 'f', 4));
    plot_->yAxis->setLabel(QString::fromStdString(sweep.metric_label()));
    const auto item = qobject_cast<QStandardItemModel*>(modeBox_->model())->item(ParetoFlops);
    item->setEnabled(sweep.tokens_pruned());
    if (mode_ == ParetoFlops && !sweep.tokens_pruned()) setMode(Sparsity);
    else redraw();
}

void CurvesView::setMode(Mode mode) {
    mode_ = mode;
    const QSignalBlocker block(modeBox_);
    modeBox_->setCurrentIndex(modeBox_->findData(mode));
    redraw();
}

int CurvesView::curveCount() const { return plot_->graphCount() - (plot_->graphCount() > 0 ? 1 : 0); }

void CurvesView::redraw() {
    plot_->clearGraphs();
    markers_.clear();
    const auto& points = sweep_.points;
    auto line = [&](const QString& name, const QColor& color, bool joined) {
        QCPGraph* g = plot_->addGraph();
        g->setName(name);
        g->setPen(joined ? QPen(color, 2) : QPen(Qt::NoPen));
        g->setLineStyle(joined ? QCPGraph::lsLine : QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, color, 7));
        return g;
    };
    double xmax = 100;
    if (mode_ == Sparsity) {
        std::map<QString, QCPGraph*> curves;
        for (size_t i = 0; i < points.size(); ++i) {
            const SweepPoint& p = points[i];
            const QString name = QString::fromStdString(curve_name(p));
            if (name.isEmpty()) continue;  // grid and sensitivity points lie on no curve
            QCPGraph*& g = curves[name];
            if (!g) g = line(name, chartColor(static_cast<int>(curves.size())), true);
            g->addData(100 * p.sparsity, p.accuracy);
            markers_.push_back({100 * p.sparsity, p.accuracy, i});
        }
        plot_->xAxis->setLabel(tr("target sparsity (%)"));
    } else {
        const ParetoCost cost = mode_ == ParetoFlops ? ParetoCost::Flops : ParetoCost::Params;
        const auto x_of = [&](const SweepPoint& p) { return cost_percent(sweep_, p, cost); };
        QCPGraph* all = line(tr("sweep points"), chartColor(0), false);
        for (size_t i = 0; i < points.size(); ++i) {
            all->addData(x_of(points[i]), points[i].accuracy);
            markers_.push_back({x_of(points[i]), points[i].accuracy, i});
        }
        QCPGraph* front = line(tr("Pareto front"), chartColor(1), true);
        for (size_t i : pareto_front(points, cost, sweep_.lower_is_better)) front->addData(x_of(points[i]), points[i].accuracy);
        plot_->xAxis->setLabel(cost == ParetoCost::Flops ? tr("block FLOPs per sample (% of dense)") : tr("nonzero parameters (% of dense)"));
    }
    if (!points.empty()) {
        QCPGraph* dense = plot_->addGraph();
        dense->setName(tr("dense"));
        dense->setPen(QPen(QColor(60, 60, 60), 1.5, Qt::DashLine));
        dense->addData(0, sweep_.dense_accuracy);
        dense->addData(xmax, sweep_.dense_accuracy);
        dense->setSelectable(QCP::stNone);
    }
    double xmin = 0;
    if (mode_ != Sparsity && !markers_.empty()) {
        xmin = markers_.front().x;
        for (const Marker& m : markers_) xmin = std::min(xmin, m.x);
        xmin = std::max(0.0, std::floor(xmin / 10) * 10 - 5);
    }
    plot_->xAxis->setRange(xmin, xmax + (mode_ == Sparsity ? 0 : 2));
    if (sweep_.metric_unit() == "%") {
        plot_->yAxis->setRange(0, 100);
    } else {  // a loss: from zero to a little above the largest score
        double top = sweep_.dense_accuracy;
        for (const Marker& m : markers_) top = std::max(top, m.y);
        plot_->yAxis->setRange(0, top > 0 ? 1.1 * top : 1.0);
    }
    plot_->replot();
}

QPoint CurvesView::pixelOf(size_t index) const {
    for (const Marker& m : markers_)
        if (m.point == index)
            return QPoint(static_cast<int>(std::lround(plot_->xAxis->coordToPixel(m.x))),
                          static_cast<int>(std::lround(plot_->yAxis->coordToPixel(m.y))));
    return {-1, -1};
}

QString CurvesView::tipAt(const QPoint& pixel) const {
    double best = 10.0 * 10.0;
    const Marker* hit = nullptr;
    for (const Marker& m : markers_) {
        const double dx = plot_->xAxis->coordToPixel(m.x) - pixel.x(), dy = plot_->yAxis->coordToPixel(m.y) - pixel.y();
        if (dx * dx + dy * dy <= best) {
            best = dx * dx + dy * dy;
            hit = &m;
        }
    }
    if (!hit) return {};
    const SweepPoint& p = sweep_.points[hit->point];
    QString tip = QString("<b>%1</b><br>%2: %3<br>achieved sparsity %4<br>nonzero parameters %5")
                      .arg(QString::fromStdString(p.name).toHtmlEscaped())
                      .arg(QString::fromStdString(sweep_.metric_label()).toHtmlEscaped())
                      .arg(p.accuracy, 0, 'f', 4)
                      .arg(p.achieved, 0, 'f', 4)
                      .arg(QLocale().toString(static_cast<qlonglong>(p.params_nonzero)));
    if (p.flops > 0) tip += QString("<br>%1 MFLOPs per sample").arg(p.flops / 1e6, 0, 'f', 1);
    if (p.cached) tip += tr("<br><i>from the sweep cache</i>");
    return tip;
}

void CurvesView::showTip(QMouseEvent* event) {
    const QString tip = tipAt(event->pos());
    if (tip.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(event->globalPosition().toPoint(), tip, plot_);
}

bool CurvesView::exportTo(const QString& target, QString* error) {
    const QString ext = QFileInfo(target).suffix().toLower();
    // written beside the target under a temporary name, then renamed over it
    const QString path = QFileInfo(target).dir().filePath(QString(".%1.partial.%2").arg(QFileInfo(target).completeBaseName(), ext));
    bool ok = false;
    const int w = plot_->width() > 100 ? plot_->width() : 960, h = plot_->height() > 100 ? plot_->height() : 600;
    if (ext == "png") {
        ok = plot_->savePng(path, w, h, 2.0);
    } else if (ext == "pdf") {
        ok = plot_->savePdf(path, w, h);
    } else if (ext == "svg") {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(w, h));
        svg.setViewBox(QRect(0, 0, w, h));
        svg.setTitle(source_->text());
        QCPPainter painter;
        ok = painter.begin(&svg);
        if (ok) {
            plot_->toPainter(&painter, w, h);
            painter.end();
            ok = QFileInfo(path).size() > 0;
        }
    } else {
        if (error) *error = tr("%1: choose .png, .svg or .pdf").arg(target);
        return false;
    }
    std::error_code ec;
    if (ok) std::filesystem::rename(path.toStdString(), target.toStdString(), ec);
    if (!ok || ec) {
        QFile::remove(path);
        if (error) *error = tr("%1: could not be written").arg(target);
        return false;
    }
    return true;
}

void CurvesView::exportInteractive() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"), "curves.png", tr("Images (*.png *.svg *.pdf)"));
    if (path.isEmpty()) return;
    QString error;
    if (!exportTo(path, &error)) Q_EMIT exportFailed(error);
}

}  // namespace ps
