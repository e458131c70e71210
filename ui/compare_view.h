// The Compare tab: two finished runs side by side — their Plans, sparsity and accuracy (or a
// decoder's next-token KL to its dense model) in one table with the difference, per-block sparsity
// as paired bars, the per-Linear sparsities, and the training curves of recovery runs. Read from
// the run folders (result.json, plan.json, score.json once the run is scored, report.json once its
// report is built), so comparing runs no model code; runs of different checkpoints get a warning.
#pragma once
#include <QString>
#include <QStringList>
#include <QWidget>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/model_map.h"
#include "ui/block_groups.h"

class QCPBars;
class QComboBox;
class QCustomPlot;
class QLabel;
class QTableWidget;

namespace ps {

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(QWidget* parent = nullptr);

    // The model the runs were pruned from: names the blocks of the per-block bars.
    void setModel(const ModelMap& map);
    // The runs to choose from; the two newest are compared.
    void setRuns(const QStringList& runs);
    // Compares run folders `a` and `b` (either may be empty: its column stays blank).
    void compare(const QString& a, const QString& b);
    // Reads the compared folders again (a run gained a score or a report).
    void refresh();

    QTableWidget* summary() const { return summary_; }
    QTableWidget* layers() const { return layers_; }
    QCustomPlot* blockPlot() const { return blocks_; }
    QCustomPlot* curvePlot() const { return curves_; }
    // Parameter-weighted sparsity of block `block` in run 0 (A) or 1 (B); -1 where none.
    double blockSparsity(int run, int block) const;
    int blockCount() const { return static_cast<int>(groups_.size()); }

private:
    // What a run folder says about itself.
    struct Run {
        QString dir;
        nlohmann::json plan = nlohmann::json::object(), result = nlohmann::json::object();
        std::map<std::string, double> sparsity;  // {Linear: achieved sparsity}
        std::optional<double> accuracy, dense;   // zero-shot top-1 (%)
        int64_t images = 0;                      // test images those were scored on
        std::optional<double> kl;                // decoders: mean next-token KL to the dense model (nats)
        int64_t prompts = 0;                     // calibration prompts that was measured on
        std::optional<double> task;              // generative runs: the Plan's evaluation task metric
        QString taskLabel;                       // "open exact_match"
        QString error;                           // why the folder could not be read
    };
    static Run read(const QString& dir);
    void fillSummary();
    void fillLayers();
    void drawBlocks();
    void drawCurves();

    ModelMap map_;
    std::vector<BlockGroup> groups_;
    std::array<Run, 2> runs_;
    std::array<QComboBox*, 2> pick_;
    QLabel* note_;
    QTableWidget* summary_;
    QTableWidget* layers_;
    QCustomPlot* blocks_;
    QCustomPlot* curves_;
    std::array<QCPBars*, 2> bars_{};
};

}  // namespace ps
