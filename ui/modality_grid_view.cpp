#include "ui/modality_grid_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

namespace ps {

ModalityGridView::ModalityGridView(QWidget* parent) : QWidget(parent), note_(new QLabel(this)), table_(new QTableWidget(this)) {
    note_->setWordWrap(true);
    note_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    note_->setText(tr("No grid yet: Run → Sweep vision × language grid, or File → Open sweep"));
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->horizontalHeader()->setMinimumSectionSize(40);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(note_);
    layout->addWidget(table_, 1);
    connect(table_, &QTableWidget::cellClicked, this, [this](int row, int column) {
        if (row < static_cast<int>(vision_.size()) && column < static_cast<int>(language_.size()) && table_->item(row, column))
            Q_EMIT splitChosen(vision_[static_cast<size_t>(row)], language_[static_cast<size_t>(column)]);
    });
}

void ModalityGridView::setSweep(const SweepResult& sweep, const QString& source) {
    vision_.clear();
    language_.clear();
    for (const SweepPoint& p : sweep.points) {
        if (p.vision < 0) continue;
        if (std::find(vision_.begin(), vision_.end(), p.vision) == vision_.end()) vision_.push_back(p.vision);
        if (std::find(language_.begin(), language_.end(), p.language) == language_.end()) language_.push_back(p.language);
    }
    std::sort(vision_.begin(), vision_.end());
    std::sort(language_.begin(), language_.end());
    table_->clear();
    table_->setRowCount(static_cast<int>(vision_.size()));
    table_->setColumnCount(static_cast<int>(language_.size()));
    QStringList rows, columns;
    for (double v : vision_) rows << tr("V %1 %").arg(100 * v);
    for (double l : language_) columns << tr("L %1 %").arg(100 * l);
    table_->setVerticalHeaderLabels(rows);
    table_->setHorizontalHeaderLabels(columns);
    double worst = 0;  // the grid's largest drop from the dense score
    for (const SweepPoint& p : sweep.points)
        if (p.vision >= 0) worst = std::max(worst, sweep.drop(p.accuracy));
    const QString metric = QString::fromStdString(sweep.metric_label());
    for (const SweepPoint& p : sweep.points) {
        if (p.vision < 0) continue;
        const int r = static_cast<int>(std::find(vision_.begin(), vision_.end(), p.vision) - vision_.begin());
        const int c = static_cast<int>(std::find(language_.begin(), language_.end(), p.language) - language_.begin());
        const bool percent = sweep.metric_unit() == "%";
        auto* item = new QTableWidgetItem(percent ? QString("%1 %").arg(p.accuracy, 0, 'f', 2) : QString::number(p.accuracy, 'f', 4));
        // red at the grid's largest drop, green at the dense score
        const double t = worst > 0 ? std::clamp(1.0 - sweep.drop(p.accuracy) / worst, 0.0, 1.0) : 1.0;
        item->setBackground(QColor::fromHsvF(static_cast<float>(t / 3.0), 0.45f, 0.95f));
        item->setTextAlignment(Qt::AlignCenter);
        item->setToolTip(tr("vision %1 %, language %2 %: %3 %4, %5 nonzero parameters\nclick to use this split in the Plan")
                             .arg(100 * p.vision)
                             .arg(100 * p.language)
                             .arg(metric)
                             .arg(p.accuracy, 0, 'f', 4)
                             .arg(QLocale().toString(static_cast<qlonglong>(p.params_nonzero))));
        table_->setItem(r, c, item);
    }
    note_->setText(vision_.empty() ? tr("%1 has no vision × language grid points").arg(source)
                                   : tr("%1 — rows: vision sparsity (V), columns: language sparsity (L); %2, dense %3. Click a cell to load that split into the Plan.")
                                         .arg(source)
                                         .arg(metric)
                                         .arg(sweep.dense_accuracy, 0, 'f', 4));
}

}  // namespace ps
