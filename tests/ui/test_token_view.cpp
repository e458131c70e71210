// The Tokens tab on the default model: it gets ready with the vision tower's 4 blocks and shows
// the first test image at the last block; moving the keep slider marks exactly the tokens
// run-time pruning drops (all but round(keep · 16)); another block rescores; a dropped image file
// is added and shown; a file that is not an image is reported with its name. Only the metrics the
// model supports are offered, test images are labelled with their class, and the tab says which
// model the heatmap is of. On the generative default, the token methods side by side: each keeps
// round(keep · 16) of the image's tokens (VisionZip: its dominant ones, the rest merged); the dual
// encoder offers no comparison and says why.
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>

#include "core/job/heatmap_session.h"
#include "core/token/token_method.h"
#include "tests/test_support.h"
#include "ui/token_view.h"

class TestTokenView : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void scoresAndMarks() {
        QVERIFY(tmp_.isValid());
        ps::TokenView view;
        view.resize(1000, 700);
        QSignalSpy ready(&view, &ps::TokenView::ready);
        QSignalSpy rendered(&view, &ps::TokenView::rendered);
        view.setCheckpoint(PS_DEFAULT_MODEL);
        QVERIFY(ready.wait(60000));
        QCOMPARE(ready.at(0).at(0).toInt(), 4);
        QVERIFY(rendered.wait(60000));
        QCOMPARE(view.current()->block, 3);
        QCOMPARE(view.current()->grid.rows * view.current()->grid.cols, 16);
        QVERIFY(view.current()->grid.dropped.empty() ||
                std::count(view.current()->grid.dropped.begin(), view.current()->grid.dropped.end(), 1) == 0);

        view.keepSlider()->setValue(25);
        QVERIFY(rendered.wait(60000));
        QCOMPARE(std::count(view.current()->grid.dropped.begin(), view.current()->grid.dropped.end(), 1), 12L);
        view.blockSlider()->setValue(1);
        QVERIFY(rendered.wait(60000));
        QCOMPARE(view.current()->block, 1);

        const std::string png = tmp_.filePath("mine.png").toStdString();
        const ps::HeatmapSession session(PS_DEFAULT_MODEL);
        ps::HeatmapRequest r;
        r.test_image = 3;
        const ps::HeatmapImage h = session.render(r);  // any RGB picture will do as the user's image
        std::vector<uint8_t> rgb = h.rgb;
        QImage(rgb.data(), h.width, h.height, h.width * 3, QImage::Format_RGB888).save(QString::fromStdString(png));
        view.addImage(QString::fromStdString(png));
        QVERIFY(rendered.wait(60000));
        QCOMPARE(view.imageList()->count(), 13);

        QSignalSpy failed(&view, &ps::TokenView::failed);
        const QString notImage = tmp_.filePath("notes.png");
        ps_test::write_bytes(notImage, "not an image");
        view.addImage(notImage);
        QVERIFY(failed.wait(60000));
        QVERIFY2(failed.at(0).at(0).toString().contains(notImage), qPrintable(failed.at(0).at(0).toString()));
    }

    void offersWhatTheModelSupports() {
        ps::TokenView view;
        QSignalSpy rendered(&view, &ps::TokenView::rendered);
        view.setCheckpoint(PS_DEFAULT_MODEL);
        QVERIFY(rendered.wait(60000));
        QCOMPARE(view.metricBox()->findData("text"), -1);  // text-guided scores need a decoder
        for (const char* m : {"cls", "received", "cim"}) QVERIFY2(view.metricBox()->findData(m) >= 0, m);
        QVERIFY2(view.imageList()->item(0)->text().contains("ankle boot"), qPrintable(view.imageList()->item(0)->text()));
        QString says;
        for (const QLabel* l : view.findChildren<QLabel*>()) says += l->text() + "\n";
        QVERIFY2(says.contains("dense"), qPrintable(says));
        QVERIFY(!view.compareBox()->isEnabled());  // a dual encoder has no image tokens in a language model
        QVERIFY(view.compareBox()->toolTip().contains("one for one"));
    }

    void comparesTokenMethods() {
        ps::TokenView view;
        view.resize(1200, 800);
        QSignalSpy rendered(&view, &ps::TokenView::rendered);
        view.setCheckpoint(PS_DEFAULT_VLM);
        QVERIFY(rendered.wait(120000));
        QVERIFY(view.compareBox()->isEnabled());
        view.keepSlider()->setValue(25);
        QVERIFY(rendered.wait(120000));
        view.compareBox()->setChecked(true);
        QVERIFY(rendered.wait(120000));
        QVERIFY(!view.metricBox()->isEnabled());
        QCOMPARE(view.compared().size(), ps::token_methods().size());  // the default's vision tower has a [CLS]: every method
        for (const ps::HeatmapImage& h : view.compared()) {
            QCOMPARE(h.grid.rows * h.grid.cols, 16);
            const auto dropped = std::count(h.grid.dropped.begin(), h.grid.dropped.end(), 1);
            const auto merged = std::count(h.grid.scores.begin(), h.grid.scores.end(), 0.5f);
            if (h.method == "visionzip") {
                QCOMPARE(dropped, 0L);  // 4 kept: 3 dominant, the other 13 merged into 1 contextual token
                QCOMPARE(merged, 13L);
            } else {
                QVERIFY2(dropped == 12, h.method.c_str());
            }
        }
        view.compareBox()->setChecked(false);
        QVERIFY(rendered.wait(120000));
        QVERIFY(view.current() && view.compared().empty());
    }
};

QTEST_MAIN(TestTokenView)
#include "test_token_view.moc"
