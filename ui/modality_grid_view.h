// The Modalities tab: a vision × language sparsity sweep as a colour table — rows the vision
// sparsity, columns the language sparsity, each cell the zero-shot accuracy coloured from red
// (low) to green (dense level) — and a click on a cell loads that split into the Plan.
#pragma once
#include <QWidget>
#include <vector>

#include "core/job/sweep.h"

class QLabel;
class QTableWidget;

namespace ps {

class ModalityGridView : public QWidget {
    Q_OBJECT
public:
    explicit ModalityGridView(QWidget* parent = nullptr);

    // Shows the sweep's grid points; a sweep without any leaves the table empty with a hint.
    void setSweep(const SweepResult& sweep, const QString& source);
    QTableWidget* table() const { return table_; }
    const std::vector<double>& visionSparsities() const { return vision_; }
    const std::vector<double>& languageSparsities() const { return language_; }

Q_SIGNALS:
    void splitChosen(double vision, double language);

private:
    QLabel* note_;
    QTableWidget* table_;
    std::vector<double> vision_, language_;
};

}  // namespace ps
