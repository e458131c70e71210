// MainWindow on the demo checkpoint: the layer tree and block chart reflect the model map, the
// filter narrows the tree, and a bad folder reports the failing file without losing the model.
// On the default model: a preset applied and narrowed to two vision blocks plans 50 % there and
// nothing elsewhere; a prune cancelled mid-run leaves no folder, no run and no sparsity shown; the
// finished prune shows its achieved sparsity in the tree and the Allocation tab; the project saved
// and opened in a new window brings back the checkpoint, the Plan, the run and its sparsity.
// What a new user meets: a per-modality split is labelled everywhere by the overall target it really
// prunes to; every prune is scored in the background and the score shows in the log, the
// Allocation tab and Compare, which refreshes when a run gains results; a LLaVA without a tokenizer
// opens without a dialog and prunes by magnitude, its unused last vision block named as such; a
// family that can only be inspected has its actions disabled with the reason.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/family.h"
#include "core/model/model_map.h"
#include "tests/test_support.h"
#include "tests/ui/compare_rows.h"
#include "ui/allocation_view.h"
#include "ui/block_chart.h"
#include "ui/compare_view.h"
#include "ui/job_controller.h"
#include "ui/job_panel.h"
#include "ui/main_window.h"
#include "ui/model_tree.h"
#include "ui/plan_panel.h"
#include "ui/recovery_view.h"
#include "ui/report_view.h"
#include "ui/token_view.h"

using ps::Modality;
using ps::ModelTree;

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void treeShowsModalitiesBlocksAndLinears();
    void chartHasOneBarPerBlock();
    void filterKeepsMatchingLinears();
    void badFolderReportsFileAndKeepsModel_data();
    void badFolderReportsFileAndKeepsModel();
    void pruneCancelSaveAndReopen();
    void perModalityTargetIsTheOverallTarget();
    void pruneIsScoredAndCompareRefreshes();
    void llavaWithoutTokenizer();
    void inspectOnlyFamilyDisablesActions();

private:
    static QTreeWidgetItem* blockItem(const ps::MainWindow& w, const QString& path);
    static int childrenOfKind(const QTreeWidgetItem* parent, int kind);

    QTemporaryDir tmp_;
    QString demo_;
    ps::ModelMap expected_;
    ps::MainWindow window_;
};

int TestMainWindow::childrenOfKind(const QTreeWidgetItem* parent, int kind) {
    int n = 0;
    for (int i = 0; i < parent->childCount(); ++i)
        if (parent->child(i)->data(ModelTree::NameColumn, ModelTree::KindRole).toInt() == kind) ++n;
    return n;
}

void TestMainWindow::initTestCase() {
    QVERIFY(tmp_.isValid());
    qputenv("XDG_CONFIG_HOME", tmp_.filePath("config").toUtf8());  // recent projects land here, not in the user's settings
    demo_ = tmp_.filePath("demo");
    ps::write_demo_checkpoint(demo_.toStdString());
    expected_ = ps::inspect_checkpoint(demo_.toStdString());

    window_.setShowErrorDialogs(false);
    QSignalSpy loaded(&window_, &ps::MainWindow::checkpointLoaded);
    QSignalSpy failed(&window_, &ps::MainWindow::loadFailed);
    window_.openCheckpoint(demo_);
    QVERIFY(loaded.wait(60000));
    QCOMPARE(failed.count(), 0);
    QCOMPARE(loaded.at(0).at(0).toString(), demo_);
    QCOMPARE(window_.windowTitle(), QString("PruneStudio — demo[*]"));
}

void TestMainWindow::treeShowsModalitiesBlocksAndLinears() {
    const ModelTree* tree = window_.modelTree();
    QTreeWidget* view = tree->tree();
    QCOMPARE(view->topLevelItemCount(), 4);
    const Modality order[] = {Modality::Vision, Modality::Projector, Modality::Language, Modality::Other};
    for (int i = 0; i < 4; ++i) {
        const QTreeWidgetItem* item = view->topLevelItem(i);
        QCOMPARE(item->data(ModelTree::NameColumn, ModelTree::KindRole).toInt(), int(ModelTree::ModalityItem));
        QCOMPARE(item->data(ModelTree::NameColumn, ModelTree::ModalityRole).toInt(), int(order[i]));
        QVERIFY(item->text(ModelTree::NameColumn).startsWith(ps::modality_name(order[i])));
        QVERIFY(item->isExpanded());
        QCOMPARE(tree->modalityItem(order[i]), item);
    }

    // Blocks: 4 CLIP encoder layers, 6 LLaMA decoder layers; projector and lm_head sit outside blocks.
    const int blocks[] = {4, 0, 6, 0};
    const int linears[] = {24, 2, 42, 1};
    for (int i = 0; i < 4; ++i) {
        const Modality m = order[i];
        int expectedLinears = 0;
        QSet<std::string> expectedBlocks;
        for (const ps::LinearLayer& l : expected_.linears)
            if (l.modality == m) {
                ++expectedLinears;
                if (l.block >= 0) expectedBlocks.insert(l.group);
            }
        const QTreeWidgetItem* item = tree->modalityItem(m);
        QCOMPARE(expectedLinears, linears[i]);
        QCOMPARE(expected_.of(m).linears, linears[i]);
        QCOMPARE(tree->linearCount(m), expectedLinears);
        QCOMPARE(int(expectedBlocks.size()), blocks[i]);
        QCOMPARE(childrenOfKind(item, ModelTree::BlockItem), blocks[i]);
        if (blocks[i] == 0) QCOMPARE(childrenOfKind(item, ModelTree::LinearItem), linears[i]);
        for (int b = 0; b < item->childCount(); ++b)
            if (item->child(b)->data(ModelTree::NameColumn, ModelTree::KindRole).toInt() == ModelTree::BlockItem)
                QCOMPARE(childrenOfKind(item->child(b), ModelTree::LinearItem), linears[i] / blocks[i]);
    }
    QCOMPARE(tree->visibleLinearCount(), 24 + 2 + 42 + 1);

    // Rows inside a block are named relative to it; the full path is kept for the filter.
    const QTreeWidgetItem* block0 = tree->modalityItem(Modality::Language)->child(0);
    QCOMPARE(block0->text(ModelTree::NameColumn), QString("block 0"));
    const QTreeWidgetItem* q = nullptr;
    for (int i = 0; i < block0->childCount(); ++i)
        if (block0->child(i)->text(ModelTree::NameColumn) == "self_attn.q_proj") q = block0->child(i);
    QVERIFY(q);
    QCOMPARE(q->data(ModelTree::NameColumn, ModelTree::PathRole).toString(),
             QString("language_model.model.layers.0.self_attn.q_proj"));
    QCOMPARE(q->text(ModelTree::ShapeColumn), QString("128×128"));
    QCOMPARE(q->text(ModelTree::DTypeColumn), QString("F32"));
    QCOMPARE(q->text(ModelTree::PrunableColumn), QString("yes"));
    QCOMPARE(tree->modalityItem(Modality::Other)->child(0)->text(ModelTree::PrunableColumn), QString("no"));
}

void TestMainWindow::chartHasOneBarPerBlock() {
    QCOMPARE(window_.blockChart()->barCount(), 4 + 1 + 6);
}

void TestMainWindow::filterKeepsMatchingLinears() {
    ModelTree* tree = window_.modelTree();
    tree->filterEdit()->setText("Q_PROJ");
    QCOMPARE(tree->visibleLinearCount(), 4 + 6);
    QVERIFY(tree->modalityItem(Modality::Projector)->isHidden());
    QVERIFY(tree->modalityItem(Modality::Other)->isHidden());
    QVERIFY(!tree->modalityItem(Modality::Vision)->isHidden());
    QCOMPARE(tree->linearCount(Modality::Vision), 24);  // hidden rows still exist

    tree->filterEdit()->setText("no such layer");
    QCOMPARE(tree->visibleLinearCount(), 0);

    tree->filterEdit()->clear();
    QCOMPARE(tree->visibleLinearCount(), 24 + 2 + 42 + 1);
    QVERIFY(!tree->modalityItem(Modality::Other)->isHidden());
}

void TestMainWindow::badFolderReportsFileAndKeepsModel_data() {
    QTest::addColumn<QString>("modelType");  // empty: no config.json at all
    QTest::newRow("no config.json") << QString();
    QTest::newRow("unknown model_type") << QString("nonsense");
}

void TestMainWindow::badFolderReportsFileAndKeepsModel() {
    QFETCH(QString, modelType);
    QTemporaryDir bad;
    QVERIFY(bad.isValid());
    const QString config = bad.filePath("config.json");
    if (!modelType.isEmpty()) {
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QString("{\"model_type\": \"%1\"}\n").arg(modelType).toUtf8());
        f.close();
        QVERIFY(QFile::copy(demo_ + "/model.safetensors", bad.filePath("model.safetensors")));
    }

    QSignalSpy loaded(&window_, &ps::MainWindow::checkpointLoaded);
    QSignalSpy failed(&window_, &ps::MainWindow::loadFailed);
    window_.openCheckpoint(bad.path());
    QVERIFY(failed.wait(60000));
    QCOMPARE(loaded.count(), 0);
    const QString message = failed.at(0).at(0).toString();
    QVERIFY2(message.contains(config), qPrintable(message));
    if (!modelType.isEmpty()) QVERIFY2(message.contains(modelType), qPrintable(message));

    QCOMPARE(window_.modelTree()->tree()->topLevelItemCount(), 4);
    QCOMPARE(window_.modelTree()->linearCount(Modality::Language), 42);
    QCOMPARE(window_.blockChart()->barCount(), 11);
    QCOMPARE(window_.windowTitle(), QString("PruneStudio — demo[*]"));
}

QTreeWidgetItem* TestMainWindow::blockItem(const ps::MainWindow& w, const QString& path) {
    QTreeWidgetItem* vision = w.modelTree()->modalityItem(Modality::Vision);
    for (int i = 0; vision && i < vision->childCount(); ++i)
        if (vision->child(i)->data(ModelTree::NameColumn, ModelTree::PathRole).toString() == path) return vision->child(i);
    return nullptr;
}

void TestMainWindow::pruneCancelSaveAndReopen() {
    ps::MainWindow w;
    w.setShowErrorDialogs(false);
    QSignalSpy loaded(&w, &ps::MainWindow::checkpointLoaded);
    w.openCheckpoint(PS_DEFAULT_MODEL);
    QVERIFY(loaded.wait(60000));
    ps::PlanPanel* panel = w.planPanel();
    const int preset = panel->presetBox()->findText("Wanda 50% equal V/L");
    QVERIFY(preset > 0);
    panel->applyPreset(preset);
    ps::Plan plan = panel->plan();
    QCOMPARE(plan.model, std::string(PS_DEFAULT_MODEL));
    plan.targets = {"vision_model\\.encoder\\.layer\\.[01]\\..*"};
    plan.calibration.samples = 16;
    panel->setPlan(plan);
    ps::AllocationView* allocation = w.allocationView();
    QCOMPARE(allocation->plannedOf(0), 0.5);
    QCOMPARE(allocation->plannedOf(1), 0.5);
    QCOMPARE(allocation->plannedOf(2), -1.0);

    // cancelled at the first pruned block: nothing written, nothing shown
    const QString cancelled = tmp_.filePath("cancelled"), pruned = tmp_.filePath("pruned");
    QSignalSpy cancelledSpy(w.jobs(), &ps::JobController::cancelled);
    const auto cancelAtFirstBlock = connect(w.jobs(), &ps::JobController::progress, w.jobs(), [&](const QString& stage) {
        if (stage == "pruning") w.jobs()->cancel();
    });
    QVERIFY(w.pruneTo(cancelled));
    QVERIFY(!w.pruneTo(tmp_.filePath("second")));  // one job at a time
    QVERIFY(cancelledSpy.wait(300000));
    disconnect(cancelAtFirstBlock);
    QVERIFY(!QFile::exists(cancelled));
    QVERIFY(w.runs().isEmpty());
    QCOMPARE(blockItem(w, "vision_model.encoder.layer.0")->text(ModelTree::SparsityColumn), QString());
    QCOMPARE(allocation->achievedOf(0), -1.0);

    QSignalSpy finished(&w, &ps::MainWindow::pruneFinished);
    QVERIFY(w.pruneTo(pruned));
    QVERIFY(finished.wait(300000));
    QCOMPARE(w.runs(), QStringList{pruned});
    QVERIFY(QFile::exists(pruned + "/result.json"));
    QCOMPARE(blockItem(w, "vision_model.encoder.layer.0")->text(ModelTree::SparsityColumn), QString("50.0 %"));
    QCOMPARE(blockItem(w, "vision_model.encoder.layer.2")->text(ModelTree::SparsityColumn), QString());
    QVERIFY(std::abs(allocation->achievedOf(1) - 0.5) < 1e-3);
    QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(allocation));
    QVERIFY(w.isModified());
    // The run is offered for recovery and shown in the Compare tab; recovery settings edited in
    // their tab are the Plan's.
    QCOMPARE(w.recoveryView()->source(), pruned);
    QCOMPARE(w.compareView()->layers()->rowCount(), 12);  // 6 Linears in each of two blocks
    QComboBox* mode = w.recoveryView()->modeBox();
    mode->setCurrentIndex(mode->findData("lora"));
    QCOMPARE(w.planPanel()->plan().recovery.mode, std::string("lora"));

    const QString project = tmp_.filePath("work.psproj");
    QVERIFY(w.saveProject(project));
    QVERIFY(!w.isModified());

    ps::MainWindow again;
    again.setShowErrorDialogs(false);
    QSignalSpy reloaded(&again, &ps::MainWindow::checkpointLoaded);
    QVERIFY(again.openProject(project));
    QVERIFY(reloaded.wait(60000));
    QCOMPARE(again.checkpointDir(), QString(PS_DEFAULT_MODEL));
    QVERIFY(again.planPanel()->plan().to_json() == w.planPanel()->plan().to_json());
    QCOMPARE(again.recoveryView()->recovery().mode, std::string("lora"));
    QCOMPARE(again.runs(), QStringList{pruned});
    QCOMPARE(blockItem(again, "vision_model.encoder.layer.1")->text(ModelTree::SparsityColumn), QString("50.0 %"));
    QVERIFY(std::abs(again.allocationView()->achievedOf(0) - 0.5) < 1e-3);
    QVERIFY(!again.isModified());

    QSignalSpy failed(&again, &ps::MainWindow::failed);
    QVERIFY(!again.openProject(tmp_.filePath("missing.psproj")));
    QVERIFY(failed.at(0).at(0).toString().contains("missing.psproj"));
}

namespace {

QAction* actionWithShortcut(const ps::MainWindow& w, const QKeySequence& key) {
    for (QAction* a : w.findChildren<QAction*>())
        if (a->shortcut() == key) return a;
    return nullptr;
}

using ps_test::summaryRow;

bool openAndWait(ps::MainWindow& w, const QString& dir) {
    QSignalSpy loaded(&w, &ps::MainWindow::checkpointLoaded);
    w.openCheckpoint(dir);
    return loaded.wait(60000);
}

}  // namespace

// The box and the sliders of a per-modality split agree, and every label shows the
// parameter-weighted overall target the run prunes to (here 20 % vision / 70 % language: ~69 %).
void TestMainWindow::perModalityTargetIsTheOverallTarget() {
    ps::MainWindow w;
    w.setShowErrorDialogs(false);
    QVERIFY(openAndWait(w, PS_DEFAULT_MODEL));
    ps::PlanPanel* panel = w.planPanel();
    ps::Plan p = panel->plan();
    p.calibration.samples = 16;
    panel->setPlan(p);
    panel->sparsityBox()->setValue(0.6);
    panel->allocationBox()->setCurrentIndex(panel->allocationBox()->findData("modality"));
    panel->linkBox()->setChecked(false);
    panel->ratioSlider("vision")->setValue(20);
    panel->ratioSlider("language")->setValue(70);

    const ps::ModelMap map = ps::inspect_checkpoint(PS_DEFAULT_MODEL);
    double weighted = 0, params = 0;
    for (const ps::LinearLayer& l : map.linears)
        if (l.prunable && l.block >= 0 && (l.modality == Modality::Vision || l.modality == Modality::Language)) {
            weighted += (l.modality == Modality::Vision ? 0.2 : 0.7) * static_cast<double>(l.params());
            params += static_cast<double>(l.params());
        }
    const double overall = weighted / params;
    QVERIFY2(overall > 0.62 && overall < 0.7, qPrintable(QString::number(overall)));
    QVERIFY(!panel->sparsityBox()->isEnabled());  // the sliders drive it
    QCOMPARE(panel->sparsityBox()->value(), std::round(100 * overall) / 100);
    QVERIFY(std::abs(panel->plan().sparsity - overall) < 1e-12);
    QVERIFY(std::abs(w.allocationView()->target() - overall) < 1e-12);  // the dashed line
    const QString pct = QString::number(100 * overall, 'f', 1);
    QVERIFY2(w.proposedPruneFolder().endsWith("/default-model-wanda-unstructured-" + pct), qPrintable(w.proposedPruneFolder()));

    QSignalSpy started(w.jobs(), &ps::JobController::started);
    QSignalSpy finished(&w, &ps::MainWindow::pruneFinished);
    const QString out = tmp_.filePath("split");
    QVERIFY(w.pruneTo(out));
    QVERIFY(finished.wait(300000));
    const QString title = started.at(0).at(0).toString();
    QVERIFY2(title.contains(pct + " %"), qPrintable(title));
    const nlohmann::json plan = ps::read_json_file(out.toStdString() + "/plan.json");
    QVERIFY(std::abs(plan.at("sparsity").get<double>() - overall) < 1e-12);
    const nlohmann::json result = ps::read_json_file(out.toStdString() + "/result.json");
    QVERIFY(std::abs(result.at("total").at("target").get<double>() - overall) < 1e-12);
    QVERIFY(std::abs(result.at("total").at("sparsity").get<double>() - overall) < 2e-3);
    const QString target = QString("%1 %").arg(100 * overall, 0, 'f', 2);
    QCOMPARE(summaryRow(*w.compareView(), "target sparsity"), target + "|" + target + "|0.00");
}

// After a prune the run is scored on test images by itself, on the worker thread; the score shows
// in the log, the Allocation tab and Compare, which also refreshes when the run's report is built.
void TestMainWindow::pruneIsScoredAndCompareRefreshes() {
    ps::MainWindow w;
    w.setShowErrorDialogs(false);
    QVERIFY(openAndWait(w, PS_DEFAULT_MODEL));
    ps::Plan p = w.planPanel()->plan();
    p.calibration.samples = 16;
    w.planPanel()->setPlan(p);
    QSignalSpy jobsDone(w.jobs(), &ps::JobController::finished);
    QSignalSpy finished(&w, &ps::MainWindow::pruneFinished);
    const QString out = tmp_.filePath("scored");
    QVERIFY(w.pruneTo(out));
    QVERIFY(finished.wait(300000));
    const auto scored = [&] {
        for (const auto& args : jobsDone)
            if (args.at(0).toString().startsWith("Score")) return true;
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(scored(), 120000);
    QVERIFY(QFile::exists(out + "/score.json"));
    const nlohmann::json score = ps::read_json_file(out.toStdString() + "/score.json");
    const double top1 = score.at("run").get<double>(), dense = score.at("dense").get<double>();
    const int images = score.at("samples").get<int>();
    QVERIFY(images > 0 && top1 > 10 && top1 <= 100 && dense > 10);
    const QString value = QString("%1 %").arg(top1, 0, 'f', 2);
    QVERIFY2(w.jobPanel()->log()->toPlainText().contains(value), qPrintable(w.jobPanel()->log()->toPlainText()));
    bool inAllocationTab = false;
    for (const QLabel* l : w.allocationView()->findChildren<QLabel*>()) inAllocationTab = inAllocationTab || l->text().contains(value);
    QVERIFY(inAllocationTab);
    QCOMPARE(summaryRow(*w.compareView(), "zero-shot top-1").section('|', 0, 0), value);
    QCOMPARE(summaryRow(*w.compareView(), "test images scored").section('|', 0, 0), QString::number(images));

    // The report (on 100 images here) is what Compare shows once it is built, without re-selecting.
    QSignalSpy built(w.reportView(), &ps::ReportView::reportBuilt);
    w.reportView()->setEvalImages(100);
    QVERIFY(w.reportView()->buildReport());
    QVERIFY(built.wait(300000));
    QCOMPARE(summaryRow(*w.compareView(), "test images scored").section('|', 0, 0), QString("100"));
    const nlohmann::json report = ps::read_json_file(out.toStdString() + "/report.json");
    QCOMPARE(summaryRow(*w.compareView(), "zero-shot top-1").section('|', 0, 0),
             QString("%1 %").arg(report.at("accuracy").at("run").get<double>(), 0, 'f', 2));
}

// The LLaVA demo has no tokenizer (and no image processor): it opens without a dialog, the Tokens
// tab says what is missing, magnitude prunes it, Wanda says it needs the tokenizer; its last vision
// block is never run (vision_feature_layer -2), which the tree, the Allocation tab and the log say.
void TestMainWindow::llavaWithoutTokenizer() {
    ps::MainWindow w;
    w.setShowErrorDialogs(false);
    QSignalSpy failed(&w, &ps::MainWindow::failed);
    QSignalSpy tokensFailed(w.tokenView(), &ps::TokenView::failed);
    QVERIFY(openAndWait(w, demo_));
    QTRY_VERIFY_WITH_TIMEOUT(!tokensFailed.isEmpty(), 60000);
    QCOMPARE(failed.count(), 0);
    QString tokensSay;
    for (const QLabel* l : w.tokenView()->findChildren<QLabel*>()) tokensSay += l->text() + "\n";
    QVERIFY2(tokensSay.contains("preprocessor_config.json") || tokensSay.contains("tokenizer"), qPrintable(tokensSay));

    QTreeWidgetItem* unused = blockItem(w, "vision_tower.vision_model.encoder.layers.3");
    QVERIFY(unused);
    QVERIFY2(unused->text(ModelTree::NameColumn).contains("unused"), qPrintable(unused->text(ModelTree::NameColumn)));
    QVERIFY(unused->toolTip(ModelTree::NameColumn).contains("vision_feature_layer"));
    ps::AllocationView* allocation = w.allocationView();
    QCOMPARE(allocation->plannedOf(2), 0.5);
    QCOMPARE(allocation->plannedOf(3), -1.0);

    ps::Plan p = w.planPanel()->plan();
    p.method = "magnitude";
    w.planPanel()->setPlan(p);
    QSignalSpy finished(&w, &ps::MainWindow::pruneFinished);
    const QString out = tmp_.filePath("llava-magnitude");
    QVERIFY(w.pruneTo(out));
    QVERIFY(finished.wait(300000));
    const QString log = w.jobPanel()->log()->toPlainText();
    QVERIFY2(log.contains("vision block 3") && log.contains("vision_feature_layer"), qPrintable(log));
    const nlohmann::json result = ps::read_json_file(out.toStdString() + "/result.json");
    for (const auto& t : result.at("tensors"))
        QVERIFY(t.at("name").get<std::string>().find("vision_model.encoder.layers.3.") == std::string::npos);
    QVERIFY(std::abs(result.at("total").at("sparsity").get<double>() - 0.5) < 1e-3);

    p.method = "wanda";
    w.planPanel()->setPlan(p);
    QSignalSpy jobFailed(w.jobs(), &ps::JobController::failed);
    QTRY_VERIFY_WITH_TIMEOUT(!w.jobs()->isRunning(), 120000);  // the run's scoring
    QVERIFY(w.pruneTo(tmp_.filePath("llava-wanda")));
    QVERIFY(jobFailed.wait(300000));
    const QString message = jobFailed.at(0).at(1).toString();
    QVERIFY2(message.contains(demo_) && message.contains("tokenizer") && !message.contains('\n'), qPrintable(message));
}

// A family that can only be inspected (one a plugin registers without a factory): the tree shows
// it, and Prune, Sweep and Recover are disabled with the reason, before any folder is asked for.
void TestMainWindow::inspectOnlyFamilyDisablesActions() {
    ps::register_family({"acme-vlm", "Acme VLM", {"acme-vlm"}, {{"vision_model\\.", ps::Modality::Vision}}});
    QTemporaryDir acme;
    QVERIFY(acme.isValid());
    ps_test::write_bytes(acme.filePath("config.json"), "{\"model_type\": \"acme-vlm\"}\n");
    QVERIFY(QFile::copy(demo_ + "/model.safetensors", acme.filePath("model.safetensors")));
    ps::MainWindow w;
    w.setShowErrorDialogs(false);
    QVERIFY(openAndWait(w, acme.path()));
    for (const QKeySequence& key : {QKeySequence(Qt::CTRL | Qt::Key_R), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
                                    QKeySequence(Qt::CTRL | Qt::Key_E)}) {
        QAction* a = actionWithShortcut(w, key);
        QVERIFY2(a, qPrintable(key.toString()));
        QVERIFY2(!a->isEnabled(), qPrintable(a->text()));
        QVERIFY2(a->toolTip().contains("Acme VLM") && a->toolTip().contains("inspect"), qPrintable(a->toolTip()));
    }
    QVERIFY(!w.pruneTo(tmp_.filePath("acme-pruned")));
    QVERIFY(!QFile::exists(tmp_.filePath("acme-pruned")));

    QVERIFY(openAndWait(w, PS_DEFAULT_MODEL));  // a runnable model enables them again
    QVERIFY(actionWithShortcut(w, QKeySequence(Qt::CTRL | Qt::Key_R))->isEnabled());
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
