// The Allocation tab: per-block sparsity bars grouped and coloured by modality — planned (light)
// and achieved after a run (solid) — with the overall target as a dashed line, the last run's score,
// the blocks the model never runs (left out of the plan), and below them the per-Linear table whose
// planned column is editable: an edit becomes a per-tensor override of the Plan (plannedEdited), as
// ECoFLaP keeps allocation a step of its own.
#pragma once
#include <QWidget>
#include <map>
#include <string>
#include <vector>

#include "core/model/model_map.h"
#include "ui/block_groups.h"

class QCPBars;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QTableWidget;
class QTableWidgetItem;

namespace ps {

class AllocationView : public QWidget {
    Q_OBJECT
public:
    enum Column { NameColumn, ModalityColumn, ParamsColumn, PlannedColumn, AchievedColumn, ColumnCount };

    explicit AllocationView(QWidget* parent = nullptr);

    void setModel(const ModelMap& map);
    // {Linear: sparsity} as allocated, the overall target it comes to, and a line saying where it comes from.
    void setPlanned(const std::map<std::string, double>& planned, double target, const QString& note);
    // {Linear: sparsity} measured after a run; empty clears the achieved bars.
    void setAchieved(const std::map<std::string, double>& achieved);
    // A line on how the shown run scored; empty hides it.
    void setScore(const QString& score);

    QCustomPlot* plot() const { return plot_; }
    QTableWidget* table() const { return table_; }
    // Per block (the projector as one), parameter-weighted: planned and achieved, -1 where none.
    int blockCount() const { return static_cast<int>(blocks_.size()); }
    double target() const { return target_; }  // where the dashed line is
    double plannedOf(int block) const;
    double achievedOf(int block) const;

Q_SIGNALS:
    void plannedEdited(const QString& linear, double sparsity);
    void editRejected(const QString& message);

private:
    void redraw();
    void redrawPlot();
    void fillTable();
    void cellEdited(QTableWidgetItem* item);

    ModelMap map_;
    std::vector<BlockGroup> blocks_;
    std::map<std::string, double> planned_, achieved_;
    double target_ = 0;
    bool filling_ = false;
    QCustomPlot* plot_;
    QLabel* note_;
    QLabel* unused_;
    QLabel* score_;
    QTableWidget* table_;
    std::array<QCPBars*, kNumModalities> plannedBars_{}, achievedBars_{};
    QCPItemStraightLine* targetLine_;
};

}  // namespace ps
