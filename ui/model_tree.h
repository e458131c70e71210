// The layer tree: every Linear of a checkpoint grouped by modality and block, with shape,
// parameter count, dtype and prunability (blocks the model never runs marked unused, with why),
// and a filter box over the full module names.
#pragma once
#include <QWidget>
#include <map>
#include <string>

#include "core/model/model_map.h"

class QLineEdit;
class QTreeWidget;
class QTreeWidgetItem;

namespace ps {

class ModelTree : public QWidget {
    Q_OBJECT
public:
    enum Column { NameColumn, ShapeColumn, ParamsColumn, DTypeColumn, PrunableColumn, SparsityColumn, ColumnCount };
    enum ItemKind { ModalityItem = 1, BlockItem, LinearItem };
    // Item data roles (column 0): the ItemKind, the Modality as int, and the full module or block path.
    static constexpr int KindRole = Qt::UserRole;
    static constexpr int ModalityRole = Qt::UserRole + 1;
    static constexpr int PathRole = Qt::UserRole + 2;
    static constexpr int ParamsRole = Qt::UserRole + 3;  // Linear rows: weights, as qulonglong

    explicit ModelTree(QWidget* parent = nullptr);

    // Replaces the tree with the linears of `map`; the current filter stays applied.
    void setModel(const ModelMap& map);

    QTreeWidget* tree() const { return tree_; }
    QLineEdit* filterEdit() const { return filter_; }
    // The top-level item of `m`, or nullptr when the model has no such modality.
    QTreeWidgetItem* modalityItem(Modality m) const;
    // Linear rows under `m`, hidden ones included.
    int linearCount(Modality m) const;
    // Linear rows the filter leaves visible, over all modalities.
    int visibleLinearCount() const;

public Q_SLOTS:
    // The achieved sparsity of a run per Linear ({name: sparsity}); blocks and modalities show the
    // parameter-weighted sparsity of their Linears. Empty clears the column.
    void setSparsity(const std::map<std::string, double>& sparsity);

    // Shows only linears whose full name contains `text` (case-insensitive) and their parents.
    void setFilter(const QString& text);

private:
    QLineEdit* filter_;
    QTreeWidget* tree_;
};

}  // namespace ps
