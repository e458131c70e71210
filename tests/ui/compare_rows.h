// Reading the Compare tab's summary in the UI suites: one measure's row as "A|B|B−A".
#pragma once
#include <QString>
#include <QTableWidget>

#include "ui/compare_view.h"

namespace ps_test {

inline QString summaryRow(const ps::CompareView& view, const QString& measure) {
    QTableWidget* t = view.summary();
    for (int r = 0; r < t->rowCount(); ++r)
        if (t->item(r, 0)->text().trimmed() == measure)
            return t->item(r, 1)->text() + "|" + t->item(r, 2)->text() + "|" + t->item(r, 3)->text();
    return "missing " + measure;
}

}  // namespace ps_test
