// The Modalities tab on a hand-made 2 × 3 grid sweep: rows and columns in increasing sparsity
// whatever the points' order, each cell its accuracy, the dense-level cell green and the worst
// red, a click emits that cell's split; a sweep without grid points leaves the table empty.
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include "ui/modality_grid_view.h"

class TestModalityGridView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridAndClicks() {
        ps::SweepResult r;
        r.dense_accuracy = 80;
        for (double v : {0.5, 0.0})
            for (double l : {0.8, 0.0, 0.4}) {
                ps::SweepPoint p;
                p.vision = v;
                p.language = l;
                p.accuracy = 80 - 20 * v - 30 * l;
                r.points.push_back(p);
            }
        ps::ModalityGridView view;
        view.setSweep(r, "grid");
        QCOMPARE(view.table()->rowCount(), 2);
        QCOMPARE(view.table()->columnCount(), 3);
        QCOMPARE(view.visionSparsities(), (std::vector<double>{0.0, 0.5}));
        QCOMPARE(view.languageSparsities(), (std::vector<double>{0.0, 0.4, 0.8}));
        QCOMPARE(view.table()->item(1, 2)->text(), QString("46.00 %"));  // vision 0.5, language 0.8
        QCOMPARE(view.table()->item(0, 0)->text(), QString("80.00 %"));
        const float best = view.table()->item(0, 0)->background().color().hueF(), worst = view.table()->item(1, 2)->background().color().hueF();
        QVERIFY(std::abs(best - 1.0f / 3.0f) < 0.01f);  // green
        QVERIFY(worst < 0.01f || worst > 0.99f);         // red
        QSignalSpy chosen(&view, &ps::ModalityGridView::splitChosen);
        Q_EMIT view.table()->cellClicked(1, 1);
        QCOMPARE(chosen.size(), 1);
        QCOMPARE(chosen.at(0).at(0).toDouble(), 0.5);
        QCOMPARE(chosen.at(0).at(1).toDouble(), 0.4);

        ps::SweepResult curves;
        curves.points.resize(3);  // no grid points
        view.setSweep(curves, "curves");
        QCOMPARE(view.table()->rowCount(), 0);
    }
};

QTEST_MAIN(TestModalityGridView)
#include "test_modality_grid_view.moc"
