// The Curves tab on a hand-made sweep: one line per method and pattern in the sparsity view, the
// scatter and the front in the Pareto views (the FLOPs one only offered when tokens were pruned);
// hovering a point names it, away from points nothing; the chart exports as PNG, SVG and PDF
// (real files: PNG and PDF signatures, SVG markup) and refuses another extension or an
// unwritable folder with the file named, leaving no temporary behind.
#include <QComboBox>
#include <QDir>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTest>

#include "tests/test_support.h"
#include "ui/curves_view.h"

class TestCurvesView : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    static ps::SweepResult sweep(bool tokens) {
        ps::SweepResult r;
        r.dense_accuracy = 87.5;
        r.dense_flops = 240e6;
        int i = 0;
        for (const char* method : {"wanda", "magnitude"})
            for (double s : {0.3, 0.5, 0.7}) {
                ps::SweepPoint p;
                p.key = std::to_string(i++);
                p.name = std::string(method) + " unstructured " + std::to_string(static_cast<int>(100 * s)) + "%";
                p.method = method;
                p.pattern = "unstructured";
                p.sparsity = s;
                p.accuracy = 87.0 - 40 * s * s - (p.method == "magnitude" ? 5 : 0);
                p.params = 1000;
                p.params_nonzero = static_cast<int64_t>(1000 * (1 - s));
                p.tokens = tokens;
                p.flops = tokens ? 240e6 * (1 - s / 2) : 240e6;
                r.points.push_back(p);
            }
        return r;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void linesScatterAndTips() {
        ps::CurvesView view;
        view.resize(900, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setSweep(sweep(false), "sweep");
        QCOMPARE(view.curveCount(), 2);
        const auto* model = qobject_cast<QStandardItemModel*>(view.modeBox()->model());
        QVERIFY(!model->item(ps::CurvesView::ParetoFlops)->isEnabled());
        const QPoint wanda50 = view.pixelOf(1);
        QVERIFY(view.tipAt(wanda50).contains("wanda unstructured 50%"));
        QVERIFY(view.tipAt(wanda50 + QPoint(40, 40)).isEmpty());
        view.setMode(ps::CurvesView::ParetoParams);
        QCOMPARE(view.curveCount(), 2);  // every point, and the front
        QVERIFY(view.tipAt(view.pixelOf(4)).contains("magnitude unstructured 50%"));
        view.setSweep(sweep(true), "tokens");
        QVERIFY(model->item(ps::CurvesView::ParetoFlops)->isEnabled());
        view.setMode(ps::CurvesView::ParetoFlops);
        QVERIFY(view.tipAt(view.pixelOf(2)).contains("MFLOPs per sample"));
    }

    void exportsThreeFormats() {
        ps::CurvesView view;
        view.resize(900, 600);
        view.setSweep(sweep(false), "sweep");
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString path = tmp_.filePath(QString("curves.%1").arg(ext));
            QString error;
            QVERIFY2(view.exportTo(path, &error), qPrintable(error));
            const QByteArray bytes = ps_test::read_bytes(path);
            if (QString(ext) == "png") QVERIFY(bytes.startsWith("\x89PNG"));
            if (QString(ext) == "pdf") QVERIFY(bytes.startsWith("%PDF"));
            if (QString(ext) == "svg") QVERIFY(bytes.contains("<svg"));
        }
        QString error;
        QVERIFY(!view.exportTo(tmp_.filePath("curves.gif"), &error));
        QVERIFY(error.contains("curves.gif"));
        const QString nowhere = tmp_.filePath("no-such-folder/curves.png");
        QVERIFY(!view.exportTo(nowhere, &error));
        QVERIFY2(error.startsWith(nowhere), qPrintable(error));
        QCOMPARE(QDir(tmp_.path()).entryList(QDir::Files | QDir::Hidden),
                 (QStringList{"curves.pdf", "curves.png", "curves.svg"}));
    }
};

QTEST_MAIN(TestCurvesView)
#include "test_curves_view.moc"
