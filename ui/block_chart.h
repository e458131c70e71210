// Where the weights sit: a bar chart of Linear weights per block, vision blocks first, then the
// projector as one bar, then the language blocks, each bar coloured by its modality.
#pragma once
#include <QString>
#include <QWidget>
#include <array>
#include <vector>

#include "core/model/model_map.h"

class QCPBars;
class QCPTextElement;
class QCustomPlot;
class QMouseEvent;

namespace ps {

class BlockChart : public QWidget {
    Q_OBJECT
public:
    explicit BlockChart(QWidget* parent = nullptr);

    void setModel(const ModelMap& map);

    QCustomPlot* plot() const { return plot_; }
    // Data points over all modalities' bars: one per block, one for the whole projector.
    int barCount() const;

private:
    struct Bar {
        Modality modality;
        QString label;  // tick label: "V0", "P", "L3"
        QString path;   // block path, or the modality name for the projector bar
        uint64_t params;
    };

    void showBarTip(QMouseEvent* event);

    QCustomPlot* plot_;
    QCPTextElement* title_;
    std::array<QCPBars*, kNumModalities> bars_{};  // Other has none: heads are not blocks
    std::vector<Bar> entries_;
};

}  // namespace ps
