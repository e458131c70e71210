#include "ui/allocation_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "core/report/model_summary.h"
#include "ui/chart_style.h"
#include "ui/modality_colors.h"

namespace ps {

AllocationView::AllocationView(QWidget* parent)
    : QWidget(parent),
      plot_(new QCustomPlot(this)),
      note_(new QLabel(this)),
      unused_(new QLabel(this)),
      score_(new QLabel(this)),
      table_(new QTableWidget(this)) {
    plot_->setAntialiasedElements(QCP::aeAll);
    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot_, tr("Sparsity per block: planned and achieved"), QFont(font().family(), font().pointSize() + 2, QFont::Bold)));
    for (Modality m : {Modality::Vision, Modality::Projector, Modality::Language}) {
        const QColor c = modalityColor(m);
        auto* planned = new QCPBars(plot_->xAxis, plot_->yAxis);
        QColor light = c;
        light.setAlpha(70);
        planned->setName(QString("%1 planned").arg(modality_name(m)));
        planned->setPen(QPen(c, 1));
        planned->setBrush(light);
        planned->setWidth(0.8);
        auto* achieved = new QCPBars(plot_->xAxis, plot_->yAxis);
        achieved->setName(QString("%1 achieved").arg(modality_name(m)));
        achieved->setPen(QPen(c.darker(140)));
        achieved->setBrush(c);
        achieved->setWidth(0.4);
        plannedBars_[static_cast<int>(m)] = planned;
        achievedBars_[static_cast<int>(m)] = achieved;
    }
    targetLine_ = new QCPItemStraightLine(plot_);
    targetLine_->setPen(QPen(QColor(60, 60, 60), 1.5, Qt::DashLine));
    plot_->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    plot_->xAxis->setLabel(tr("block"));
    plot_->xAxis->grid()->setVisible(false);
    plot_->xAxis->setSubTicks(false);
    plot_->yAxis->setLabel(tr("sparsity"));
    plot_->yAxis->setRange(0, 1);
    plot_->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    legendBelow(plot_);

    table_->setColumnCount(ColumnCount);
    table_->setHorizontalHeaderLabels({tr("Linear"), tr("Modality"), tr("Parameters"), tr("Planned"), tr("Achieved")});
    // Names in full ("V0 self_attn.q_proj": the block's label and the path inside it), never cut:
    // the columns are fitted to their text once per fill (fitting them live costs a pass over every
    // row for each cell set).
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    table_->setWordWrap(false);
    table_->setTextElideMode(Qt::ElideNone);
    table_->setAlternatingRowColors(true);
    table_->setToolTip(tr("Double-click a planned sparsity to override it for that Linear"));
    connect(table_, &QTableWidget::itemChanged, this, &AllocationView::cellEdited);

    for (QLabel* l : {note_, unused_, score_}) {
        l->setWordWrap(true);
        l->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    }
    score_->setStyleSheet("font-weight:bold");
    unused_->setStyleSheet("color:#8a5a00");
    score_->hide();
    unused_->hide();
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(plot_);
    split->addWidget(table_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(score_);
    layout->addWidget(note_);
    layout->addWidget(unused_);
    layout->addWidget(split, 1);
    setModel(ModelMap{});
}

void AllocationView::setModel(const ModelMap& map) {
    map_ = map;
    blocks_ = blockGroups(map_);
    planned_.clear();
    achieved_.clear();
    QStringList unused;
    for (const UnusedBlock& b : unused_blocks(map_))
        unused << tr("%1 block %2 (%3 Linears) is %4: not planned, not counted in the target.")
                      .arg(modality_name(b.modality))
                      .arg(b.block)
                      .arg(b.linears)
                      .arg(QString::fromStdString(b.why));
    unused_->setText(unused.join('\n'));
    unused_->setVisible(!unused.isEmpty());
    setScore({});
    redraw();
}

void AllocationView::setScore(const QString& score) {
    score_->setText(score);
    score_->setVisible(!score.isEmpty());
}

void AllocationView::setPlanned(const std::map<std::string, double>& planned, double target, const QString& note) {
    planned_ = planned;
    target_ = target;
    note_->setText(note);
    redraw();
}

void AllocationView::setAchieved(const std::map<std::string, double>& achieved) {
    achieved_ = achieved;
    redraw();
}

double AllocationView::plannedOf(int block) const { return weightedSparsity(blocks_.at(static_cast<size_t>(block)), planned_); }
double AllocationView::achievedOf(int block) const { return weightedSparsity(blocks_.at(static_cast<size_t>(block)), achieved_); }

void AllocationView::redraw() {
    redrawPlot();
    fillTable();
}

void AllocationView::redrawPlot() {
    auto ticker = qSharedPointerCast<QCPAxisTickerText>(plot_->xAxis->ticker());
    ticker->clear();
    std::array<QVector<double>, kNumModalities> keys, planned, achievedKeys, achieved;
    for (size_t i = 0; i < blocks_.size(); ++i) {
        const BlockGroup& b = blocks_[i];
        const int m = static_cast<int>(b.modality);
        ticker->addTick(static_cast<double>(i), b.label);
        const double p = weightedSparsity(b, planned_), a = weightedSparsity(b, achieved_);
        if (p >= 0) {
            keys[m].append(static_cast<double>(i));
            planned[m].append(p);
        }
        if (a >= 0) {
            achievedKeys[m].append(static_cast<double>(i));
            achieved[m].append(a);
        }
    }
    for (int m = 0; m < kNumModalities; ++m) {
        if (!plannedBars_[m]) continue;
        plannedBars_[m]->setData(keys[m], planned[m], true);
        achievedBars_[m]->setData(achievedKeys[m], achieved[m], true);
        // only modalities with bars in the legend
        if (keys[m].isEmpty()) plannedBars_[m]->removeFromLegend();
        else plannedBars_[m]->addToLegend();
        if (achievedKeys[m].isEmpty()) achievedBars_[m]->removeFromLegend();
        else achievedBars_[m]->addToLegend();
    }
    targetLine_->point1->setCoords(-1, target_);
    targetLine_->point2->setCoords(1, target_);
    targetLine_->setVisible(!planned_.empty());
    plot_->xAxis->setRange(-0.7, std::max<double>(1, static_cast<double>(blocks_.size())) - 0.3);
    plot_->replot();
}

void AllocationView::fillTable() {
    filling_ = true;
    table_->setUpdatesEnabled(false);
    int rows = 0;
    for (const BlockGroup& b : blocks_) rows += static_cast<int>(b.linears.size());
    table_->setRowCount(rows);
    int r = 0;
    for (const BlockGroup& b : blocks_)
        for (const LinearLayer* l : b.linears) {
            auto cell = [&](int column, const QString& text, bool editable) {
                auto* item = new QTableWidgetItem(text);
                item->setFlags(editable ? (Qt::ItemIsSelectable | Qt::ItemIsEnabled | Qt::ItemIsEditable)
                                        : (Qt::ItemIsSelectable | Qt::ItemIsEnabled));
                if (column != NameColumn && column != ModalityColumn) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
                table_->setItem(r, column, item);
                return item;
            };
            const QString full = QString::fromStdString(l->name);
            QTableWidgetItem* name =
                cell(NameColumn, full.startsWith(b.path + '.') ? b.label + ' ' + full.mid(b.path.size() + 1) : full, false);
            name->setIcon(modalityIcon(l->modality));
            name->setToolTip(full);
            name->setData(Qt::UserRole, full);
            cell(ModalityColumn, modality_name(l->modality), false);
            cell(ParamsColumn, QString::fromStdString(format_count(l->params())), false);
            const auto p = planned_.find(l->name), a = achieved_.find(l->name);
            cell(PlannedColumn, p != planned_.end() ? QString::number(p->second, 'f', 4) : QString("–"), p != planned_.end());
            cell(AchievedColumn, a != achieved_.end() ? QString::number(a->second, 'f', 4) : QString("–"), false);
            ++r;
        }
    for (int c = NameColumn; c < AchievedColumn; ++c) table_->resizeColumnToContents(c);  // the last one stretches
    table_->setUpdatesEnabled(true);
    filling_ = false;
}

void AllocationView::cellEdited(QTableWidgetItem* item) {
    if (filling_ || item->column() != PlannedColumn) return;
    const QString name = table_->item(item->row(), NameColumn)->data(Qt::UserRole).toString();
    bool ok = false;
    const double v = item->text().toDouble(&ok);
    if (!ok || !(v >= 0 && v < 1)) {
        Q_EMIT editRejected(tr("%1: sparsity \"%2\" is outside [0, 1)").arg(name, item->text()));
        filling_ = true;
        item->setText(QString::number(planned_[name.toStdString()], 'f', 4));
        filling_ = false;
        return;
    }
    planned_[name.toStdString()] = v;
    Q_EMIT plannedEdited(name, v);
    redrawPlot();
}

}  // namespace ps
