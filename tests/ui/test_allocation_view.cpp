// The Allocation tab on the default model: one bar position per block (4 vision, the projector, 6
// text), planned values are the parameter-weighted block sparsities of the allocation, achieved
// ones appear after a run; the table lists every prunable Linear (those not targeted planned "–"),
// an edit of its planned value is emitted as an override, and an edit outside [0, 1) is refused
// and reverted.
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include "core/job/plan.h"
#include "core/model/model_map.h"
#include "core/prune/allocation.h"
#include "ui/allocation_view.h"

class TestAllocationView : public QObject {
    Q_OBJECT
private:
    ps::ModelMap map_;

private Q_SLOTS:
    void initTestCase() { map_ = ps::inspect_checkpoint(PS_DEFAULT_MODEL); }

    void barsFollowPlannedAndAchieved() {
        ps::AllocationView view;
        view.resize(1000, 700);
        view.setModel(map_);
        QCOMPARE(view.blockCount(), 11);
        ps::Plan plan;
        plan.allocation.kind = "modality";
        plan.allocation.modality = {{"vision", 0.3}, {"language", 0.6}};
        const auto planned = ps::allocate(plan, map_);
        view.setPlanned(planned, plan.sparsity, "per modality");
        QCOMPARE(view.table()->rowCount(), static_cast<int>(planned.size()) + 2);  // and the projector's two, planned "–"
        int unplanned = 0;
        for (int row = 0; row < view.table()->rowCount(); ++row)
            unplanned += view.table()->item(row, ps::AllocationView::PlannedColumn)->text() == "–";
        QCOMPARE(unplanned, 2);
        for (int b = 0; b < 4; ++b) QCOMPARE(view.plannedOf(b), 0.3);
        QCOMPARE(view.plannedOf(4), -1.0);  // the projector: not targeted without a projector ratio
        for (int b = 5; b < 11; ++b) QCOMPARE(view.plannedOf(b), 0.6);
        QCOMPARE(view.achievedOf(0), -1.0);
        // achieved: one Linear of block V0 at 0.5, the rest of it at 0.3 -> the parameter-weighted mean
        std::map<std::string, double> achieved = planned;
        const ps::LinearLayer* first = nullptr;
        double params = 0, block = 0;
        for (const ps::LinearLayer& l : map_.linears)
            if (planned.count(l.name) && l.group == "vision_model.encoder.layer.0") {
                if (!first) first = &l;
                block += static_cast<double>(l.params());
            }
        params = static_cast<double>(first->params());
        achieved[first->name] = 0.5;
        view.setAchieved(achieved);
        QVERIFY(std::abs(view.achievedOf(0) - (0.3 + 0.2 * params / block)) < 1e-12);
    }

    void editsBecomeOverrides() {
        ps::AllocationView view;
        view.setModel(map_);
        view.setPlanned(ps::allocate(ps::Plan{}, map_), 0.5, "uniform");
        QSignalSpy edited(&view, &ps::AllocationView::plannedEdited);
        QSignalSpy rejected(&view, &ps::AllocationView::editRejected);
        QTableWidgetItem* item = view.table()->item(0, ps::AllocationView::PlannedColumn);
        // Shown as the block's label and the path inside it; the full name in the tooltip.
        const QString name = view.table()->item(0, ps::AllocationView::NameColumn)->toolTip();
        QCOMPARE(view.table()->item(0, ps::AllocationView::NameColumn)->text(), "V0 " + name.section('.', 4));
        QVERIFY(item->flags() & Qt::ItemIsEditable);
        item->setText("0.75");
        QCOMPARE(edited.size(), 1);
        QCOMPARE(edited.at(0).at(0).toString(), name);
        QCOMPARE(edited.at(0).at(1).toDouble(), 0.75);
        item->setText("1.5");
        QCOMPARE(rejected.size(), 1);
        QVERIFY(rejected.at(0).at(0).toString().startsWith(name + ": sparsity \"1.5\" is outside [0, 1)"));
        QCOMPARE(view.table()->item(0, ps::AllocationView::PlannedColumn)->text(), QString("0.7500"));
        QCOMPARE(edited.size(), 1);
        QVERIFY(!(view.table()->item(0, ps::AllocationView::AchievedColumn)->flags() & Qt::ItemIsEditable));
    }
};

QTEST_MAIN(TestAllocationView)
#include "test_allocation_view.moc"
