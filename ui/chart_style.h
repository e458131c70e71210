// What the tabs' charts share: the colours of their series, in order (the first series is the
// same colour in every tab), and a legend in a row of its own under the axes.
#pragma once
#include <QColor>

class QCustomPlot;

namespace ps {

QColor chartColor(int i);

// Moves the plot's legend out of the axes into a row under them, its entries side by side, so no
// curve or bar is hidden behind it.
void legendBelow(QCustomPlot* plot);

}  // namespace ps
