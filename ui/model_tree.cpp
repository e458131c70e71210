#include "ui/model_tree.h"

#include <QHash>
#include <QHeaderView>
#include <QLineEdit>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "core/io/dtype.h"
#include "core/report/model_summary.h"
#include "ui/modality_colors.h"

namespace ps {
namespace {

QString count(uint64_t n) { return QString::fromStdString(format_count(n)); }

QString exact(uint64_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

int kindOf(const QTreeWidgetItem* item) { return item->data(ModelTree::NameColumn, ModelTree::KindRole).toInt(); }

void alignNumbers(QTreeWidgetItem* item) {
    item->setTextAlignment(ModelTree::ParamsColumn, Qt::AlignRight | Qt::AlignVCenter);
    item->setTextAlignment(ModelTree::PrunableColumn, Qt::AlignCenter);
    item->setTextAlignment(ModelTree::SparsityColumn, Qt::AlignRight | Qt::AlignVCenter);
}

// Writes the sparsity column of `item` and below; returns (pruned weights, weights) of its Linears
// that have a value.
std::pair<double, double> showSparsity(QTreeWidgetItem* item, const std::map<std::string, double>& sparsity) {
    double pruned = 0, params = 0;
    if (kindOf(item) == ModelTree::LinearItem) {
        const auto it = sparsity.find(item->data(ModelTree::NameColumn, ModelTree::PathRole).toString().toStdString());
        if (it != sparsity.end()) {
            params = item->data(ModelTree::NameColumn, ModelTree::ParamsRole).toDouble();
            pruned = it->second * params;
        }
    } else {
        for (int i = 0; i < item->childCount(); ++i) {
            const auto [p, n] = showSparsity(item->child(i), sparsity);
            pruned += p;
            params += n;
        }
    }
    item->setText(ModelTree::SparsityColumn, params > 0 ? QString("%1 %").arg(100 * pruned / params, 0, 'f', 1) : QString());
    return {pruned, params};
}

QTreeWidgetItem* makeLinear(const LinearLayer& l) {
    auto* item = new QTreeWidgetItem;
    const QString full = QString::fromStdString(l.name);
    // Inside a block the block row already says where we are; show the path below it.
    const QString shown = l.group.empty() ? full : full.mid(static_cast<int>(l.group.size()) + 1);
    item->setText(ModelTree::NameColumn, shown);
    item->setText(ModelTree::ShapeColumn, QString("%1×%2").arg(l.out_features).arg(l.in_features));
    item->setText(ModelTree::ParamsColumn, count(l.params()));
    item->setText(ModelTree::DTypeColumn, dtype_name(l.dtype));
    item->setText(ModelTree::PrunableColumn, l.prunable ? "yes" : l.unused.empty() ? "no" : "unused");
    if (!l.unused.empty()) item->setToolTip(ModelTree::PrunableColumn, QString::fromStdString(l.unused));
    item->setToolTip(ModelTree::NameColumn, QString("%1\nrole: %2%3")
                                                 .arg(full, QString::fromStdString(l.role),
                                                      QString(l.has_bias ? ", with bias" : "")));
    item->setToolTip(ModelTree::ParamsColumn, exact(l.params()) + " weights");
    if (!l.prunable) item->setForeground(ModelTree::PrunableColumn, QColor(0x99, 0x99, 0x99));
    item->setData(ModelTree::NameColumn, ModelTree::KindRole, ModelTree::LinearItem);
    item->setData(ModelTree::NameColumn, ModelTree::ModalityRole, static_cast<int>(l.modality));
    item->setData(ModelTree::NameColumn, ModelTree::PathRole, full);
    item->setData(ModelTree::NameColumn, ModelTree::ParamsRole, static_cast<qulonglong>(l.params()));
    alignNumbers(item);
    return item;
}

// Hides linears not matching `text` and parents left without visible children; returns whether
// `item` stays visible. Parents without any linears are shown only while the filter is empty.
bool applyFilter(QTreeWidgetItem* item, const QString& text) {
    bool visible;
    if (kindOf(item) == ModelTree::LinearItem) {
        visible = item->data(ModelTree::NameColumn, ModelTree::PathRole).toString().contains(text, Qt::CaseInsensitive);
    } else {
        visible = text.isEmpty() && item->childCount() == 0;
        for (int i = 0; i < item->childCount(); ++i) visible = applyFilter(item->child(i), text) || visible;
        if (kindOf(item) == ModelTree::BlockItem) item->setExpanded(!text.isEmpty() && visible);
    }
    item->setHidden(!visible);
    return visible;
}

int countLinears(const QTreeWidgetItem* item, bool visibleOnly) {
    if (visibleOnly && item->isHidden()) return 0;
    if (kindOf(item) == ModelTree::LinearItem) return 1;
    int n = 0;
    for (int i = 0; i < item->childCount(); ++i) n += countLinears(item->child(i), visibleOnly);
    return n;
}

}  // namespace

ModelTree::ModelTree(QWidget* parent) : QWidget(parent), filter_(new QLineEdit(this)), tree_(new QTreeWidget(this)) {
    filter_->setPlaceholderText(tr("Filter layers by name, e.g. q_proj"));
    filter_->setClearButtonEnabled(true);
    connect(filter_, &QLineEdit::textChanged, this, &ModelTree::setFilter);

    tree_->setColumnCount(ColumnCount);
    tree_->setHeaderLabels({tr("Layer"), tr("Shape"), tr("Params"), tr("DType"), tr("Prunable"), tr("Sparsity")});
    tree_->setUniformRowHeights(true);
    tree_->setAlternatingRowColors(true);
    tree_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    QHeaderView* header = tree_->header();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    for (int c = ShapeColumn; c < ColumnCount; ++c) header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    header->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    tree_->headerItem()->setTextAlignment(ParamsColumn, Qt::AlignRight | Qt::AlignVCenter);
    tree_->headerItem()->setTextAlignment(SparsityColumn, Qt::AlignRight | Qt::AlignVCenter);
    tree_->headerItem()->setToolTip(SparsityColumn, tr("Achieved sparsity of the last run (blocks: parameter-weighted)"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addWidget(filter_);
    layout->addWidget(tree_);
}

void ModelTree::setModel(const ModelMap& map) {
    tree_->clear();
    QTreeWidgetItem* modalityItems[kNumModalities] = {};
    for (int m = 0; m < kNumModalities; ++m) {
        const ModalityTotals& t = map.totals[m];
        if (t.tensors == 0 && t.linears == 0) continue;
        const auto mod = static_cast<Modality>(m);
        auto* item = new QTreeWidgetItem(tree_);
        item->setText(NameColumn, QString("%1 · %2 %3")
                                      .arg(QString(modality_name(mod)), QString::number(t.linears),
                                           t.linears == 1 ? tr("linear") : tr("linears")));
        item->setIcon(NameColumn, modalityIcon(mod));
        item->setText(ParamsColumn, count(t.linear_params));
        item->setToolTip(NameColumn, tr("%1: %2 parameters in %3 tensors\n%4 linears with %5 weights, %6 prunable")
                                         .arg(QString(modality_name(mod)), exact(t.params))
                                         .arg(t.tensors)
                                         .arg(t.linears)
                                         .arg(exact(t.linear_params), exact(t.prunable_params)));
        QFont bold = item->font(NameColumn);
        bold.setBold(true);
        item->setFont(NameColumn, bold);
        item->setForeground(NameColumn, modalityColor(mod).darker(130));
        item->setData(NameColumn, KindRole, ModalityItem);
        item->setData(NameColumn, ModalityRole, m);
        alignNumbers(item);
        modalityItems[m] = item;
    }

    QHash<QString, QTreeWidgetItem*> blocks;  // keyed by block path, unique across modalities
    QHash<QTreeWidgetItem*, uint64_t> blockParams;
    for (const LinearLayer& l : map.linears) {
        QTreeWidgetItem* parent = modalityItems[static_cast<int>(l.modality)];
        if (l.block >= 0) {
            const QString group = QString::fromStdString(l.group);
            QTreeWidgetItem*& block = blocks[group];
            if (!block) {
                block = new QTreeWidgetItem(parent);
                // A block the model never runs says so: it is not pruned (its Linears say why too).
                block->setText(NameColumn, l.unused.empty() ? tr("block %1").arg(l.block) : tr("block %1 · unused").arg(l.block));
                block->setToolTip(NameColumn, l.unused.empty() ? group : group + "\n" + QString::fromStdString(l.unused));
                if (!l.unused.empty()) block->setForeground(NameColumn, QColor(0x8a, 0x5a, 0x00));
                block->setData(NameColumn, KindRole, BlockItem);
                block->setData(NameColumn, ModalityRole, static_cast<int>(l.modality));
                block->setData(NameColumn, PathRole, group);
                alignNumbers(block);
            }
            blockParams[block] += l.params();
            parent = block;
        }
        parent->addChild(makeLinear(l));
    }
    for (auto it = blockParams.cbegin(); it != blockParams.cend(); ++it) {
        it.key()->setText(ParamsColumn, count(it.value()));
        it.key()->setToolTip(ParamsColumn, exact(it.value()) + " weights in " +
                                               QString::number(it.key()->childCount()) + " linears");
    }
    for (QTreeWidgetItem* item : modalityItems)
        if (item) item->setExpanded(true);
    setFilter(filter_->text());
}

QTreeWidgetItem* ModelTree::modalityItem(Modality m) const {
    for (int i = 0; i < tree_->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = tree_->topLevelItem(i);
        if (item->data(NameColumn, ModalityRole).toInt() == static_cast<int>(m)) return item;
    }
    return nullptr;
}

int ModelTree::linearCount(Modality m) const {
    const QTreeWidgetItem* item = modalityItem(m);
    return item ? countLinears(item, false) : 0;
}

int ModelTree::visibleLinearCount() const {
    int n = 0;
    for (int i = 0; i < tree_->topLevelItemCount(); ++i) n += countLinears(tree_->topLevelItem(i), true);
    return n;
}

void ModelTree::setSparsity(const std::map<std::string, double>& sparsity) {
    for (int i = 0; i < tree_->topLevelItemCount(); ++i) showSparsity(tree_->topLevelItem(i), sparsity);
}

void ModelTree::setFilter(const QString& text) {
    const QString needle = text.trimmed();
    for (int i = 0; i < tree_->topLevelItemCount(); ++i) applyFilter(tree_->topLevelItem(i), needle);
}

}  // namespace ps
