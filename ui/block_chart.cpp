#include "ui/block_chart.h"

#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "core/report/model_summary.h"
#include "ui/modality_colors.h"

namespace ps {
namespace {

// Value axis of whole parameter counts, labelled in the same short form as the layer tree: 50.0K, 1.20M.
class CountTicker : public QCPAxisTicker {
protected:
    double getTickStep(const QCPRange& range) override { return std::max(1.0, QCPAxisTicker::getTickStep(range)); }
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        return tick <= 0 ? QString("0") : QString::fromStdString(format_count(static_cast<uint64_t>(tick + 0.5)));
    }
};

constexpr double kBarWidth = 0.72;

}  // namespace

BlockChart::BlockChart(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)), title_(nullptr) {
    plot_->setAntialiasedElements(QCP::aeAll);
    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, tr("Linear weights per block"), QFont(font().family(), font().pointSize() + 2, QFont::Bold));
    plot_->plotLayout()->addElement(0, 0, title_);

    for (Modality m : {Modality::Vision, Modality::Projector, Modality::Language}) {
        auto* bars = new QCPBars(plot_->xAxis, plot_->yAxis);
        const QColor c = modalityColor(m);
        bars->setName(modality_name(m));
        bars->setPen(QPen(c.darker(140)));
        bars->setBrush(c);
        bars->setWidth(kBarWidth);
        bars_[static_cast<int>(m)] = bars;
    }

    plot_->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    plot_->xAxis->setLabel(tr("block"));
    plot_->xAxis->grid()->setVisible(false);
    plot_->xAxis->setSubTicks(false);
    plot_->xAxis->setTickLength(0, 4);
    plot_->yAxis->setTicker(QSharedPointer<CountTicker>::create());
    plot_->yAxis->setLabel(tr("parameters"));
    plot_->axisRect()->setAutoMargins(QCP::msLeft | QCP::msTop | QCP::msBottom);
    plot_->axisRect()->setMargins(QMargins(0, 0, 16, 0));
    plot_->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));

    // Legend centred in its own row under the axes, so it never covers a bar.
    auto* legendRow = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(2, 0, legendRow);
    plot_->plotLayout()->setRowStretchFactor(2, 0.001);
    plot_->axisRect()->insetLayout()->take(plot_->legend);
    legendRow->addElement(0, 0, new QCPLayoutElement(plot_));
    legendRow->addElement(0, 1, plot_->legend);
    legendRow->addElement(0, 2, new QCPLayoutElement(plot_));
    legendRow->setColumnStretchFactor(1, 0.001);
    plot_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot_->legend->setBorderPen(Qt::NoPen);
    plot_->legend->setColumnSpacing(16);
    plot_->legend->setMargins(QMargins(4, 0, 4, 4));

    connect(plot_, &QCustomPlot::mouseMove, this, &BlockChart::showBarTip);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    setModel(ModelMap{});
}

void BlockChart::setModel(const ModelMap& map) {
    entries_.clear();
    uint64_t projector = 0;
    bool hasProjector = false;
    for (Modality m : {Modality::Vision, Modality::Projector, Modality::Language}) {
        const size_t first = entries_.size();
        for (const LinearLayer& l : map.linears) {
            if (l.modality != m) continue;
            if (m == Modality::Projector) {
                projector += l.params();
                hasProjector = true;
                continue;
            }
            if (l.block < 0) continue;
            const QString path = QString::fromStdString(l.group);
            auto it = std::find_if(entries_.begin() + first, entries_.end(), [&](const Bar& b) { return b.path == path; });
            if (it == entries_.end()) {
                entries_.push_back({m, QString("%1%2").arg(m == Modality::Vision ? 'V' : 'L').arg(l.block), path, 0});
                it = entries_.end() - 1;
            }
            it->params += l.params();
        }
        if (m == Modality::Projector && hasProjector)
            entries_.push_back({m, "P", tr("projector (all linears)"), projector});
    }

    auto ticker = qSharedPointerCast<QCPAxisTickerText>(plot_->xAxis->ticker());
    ticker->clear();
    std::array<QVector<double>, kNumModalities> keys, values;
    double top = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
        const Bar& b = entries_[i];
        keys[static_cast<int>(b.modality)].append(static_cast<double>(i));
        values[static_cast<int>(b.modality)].append(static_cast<double>(b.params));
        ticker->addTick(static_cast<double>(i), b.label);
        top = std::max(top, static_cast<double>(b.params));
    }
    for (int m = 0; m < kNumModalities; ++m) {
        if (!bars_[m]) continue;
        bars_[m]->setData(keys[m], values[m], true);
        if (keys[m].isEmpty()) bars_[m]->removeFromLegend();
        else bars_[m]->addToLegend();
    }

    const int n = static_cast<int>(entries_.size());
    plot_->xAxis->setTickLabelRotation(n > 32 ? 90 : 0);
    plot_->xAxis->setRange(-0.6, std::max(n, 1) - 0.4);
    plot_->yAxis->setRange(0, top > 0 ? top * 1.08 : 1.0);
    plot_->legend->setVisible(n > 0);
    title_->setText(n > 0 ? tr("Linear weights per block — %1").arg(QString::fromStdString(map.family_display))
                          : tr("No checkpoint open (File › Open checkpoint folder…)"));
    plot_->replot();
}

int BlockChart::barCount() const {
    int n = 0;
    for (const QCPBars* b : bars_)
        if (b) n += b->dataCount();
    return n;
}

void BlockChart::showBarTip(QMouseEvent* event) {
    const QPointF pos = event->position();
    const double key = plot_->xAxis->pixelToCoord(pos.x());
    const long i = std::lround(key);
    if (i < 0 || i >= static_cast<long>(entries_.size()) || std::abs(key - i) > kBarWidth / 2 ||
        !plot_->axisRect()->rect().contains(pos.toPoint())) {
        QToolTip::hideText();
        return;
    }
    const Bar& b = entries_[i];
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1\n%2 linear weights").arg(b.path, QLocale().toString(static_cast<qulonglong>(b.params))),
                       plot_);
}

}  // namespace ps
