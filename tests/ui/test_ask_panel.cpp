// The Ask tab on the generative default: both sides load, test images are labelled with their
// class; asked about test image 0, the dense pane's answer grows token by token (each partial a
// prefix of the next) and ends as the CLI's `run` answers the same question about the same image
// saved as a PNG; the run's pane answers too. Stop ends an answer early and says so; a dual
// encoder is not loaded and the pane says why; a checkpoint that cannot be loaded is reported in
// its pane.
#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "core/job/ask_session.h"
#include "tests/test_support.h"
#include "ui/ask_panel.h"

class TestAskPanel : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    static bool waitLoaded(QSignalSpy& loaded, int count) {
        while (loaded.count() < count)
            if (!loaded.wait(120000)) return false;
        return true;
    }

private Q_SLOTS:
    void asksBothModels() {
        ps::AskPanel panel;
        panel.resize(1100, 700);
        QSignalSpy loaded(&panel, &ps::AskPanel::loaded);
        QSignalSpy partial(&panel, &ps::AskPanel::partial);
        QSignalSpy answered(&panel, &ps::AskPanel::answered);
        panel.setCheckpoint(PS_DEFAULT_VLM);
        panel.setRuns({PS_DEFAULT_VLM});  // the same folder as the "run": both sides must agree
        QVERIFY(waitLoaded(loaded, 2));
        for (const auto& l : loaded) QVERIFY2(l.at(1).toString().isEmpty(), qPrintable(l.at(1).toString()));
        QVERIFY2(panel.imageList()->item(0)->text().contains("ankle boot"), qPrintable(panel.imageList()->item(0)->text()));

        const QString question = "What is the item in this image? Answer the question using a single word or phrase.";
        panel.imageList()->setCurrentRow(0);
        panel.questionEdit()->setText(question);
        QTest::mouseClick(panel.askButton(), Qt::LeftButton);
        while (answered.count() < 2) QVERIFY(answered.wait(120000));
        QString dense;
        for (const auto& a : answered) {
            QVERIFY2(a.at(2).toString().isEmpty(), qPrintable(a.at(2).toString()));
            if (a.at(0).toInt() == 0) dense = a.at(1).toString();
        }
        QVERIFY(!dense.isEmpty());
        QCOMPARE(panel.answerPane(0)->toPlainText(), dense);
        QCOMPARE(panel.answerPane(1)->toPlainText(), dense);
        // streamed: the dense side's partial answers grow, each a prefix of the final one
        QString last;
        int steps = 0;
        for (const auto& p : partial) {
            if (p.at(0).toInt() != 0) continue;
            const QString t = p.at(1).toString();
            QVERIFY2(dense.startsWith(t.trimmed()) && t.size() >= last.size(), qPrintable(t));
            last = t;
            ++steps;
        }
        QVERIFY2(steps >= 2, qPrintable(QString::number(steps)));

        // the same question about the same pixels through `prunestudio-cli run`
        const ps::TestImage t = ps::AskSession::test_images(1).at(0);
        const QString png = tmp_.filePath("test0.png");
        QVERIFY(QImage(t.rgb.data(), t.width, t.height, t.width * 3, QImage::Format_RGB888).save(png));
        const auto cli = ps_test::run_cli({"run", PS_DEFAULT_VLM, "--image", png, "--text", question, "--max-new-tokens", "64"});
        QVERIFY2(cli.exit_code == 0, cli.err.constData());
        QCOMPARE(dense, QString::fromUtf8(cli.out).chopped(1));

        // a user's image (the PNG) asked with a long answer, stopped at once
        panel.addImage(png);
        panel.questionEdit()->setText("Describe the image in detail.");
        answered.clear();
        panel.ask();
        panel.stop();
        while (answered.count() < 2) QVERIFY(answered.wait(120000));
        QVERIFY2(answered.at(0).at(2).toString() == "(stopped)" || !answered.at(0).at(1).toString().isEmpty(),
                 qPrintable(answered.at(0).at(2).toString()));
    }

    void saysWhatCannotAnswer() {
        ps::AskPanel panel;
        panel.setCheckpoint(PS_DEFAULT_MODEL, /*generative=*/false);
        QVERIFY(panel.answerPane(0)->toPlainText().contains("dual encoder"));
        QVERIFY(!panel.askButton()->isEnabled());

        QSignalSpy loaded(&panel, &ps::AskPanel::loaded);
        panel.setCheckpoint(tmp_.filePath("no-such-model"));
        QVERIFY(waitLoaded(loaded, 1));
        QVERIFY2(panel.answerPane(0)->toPlainText().contains("no-such-model"), qPrintable(panel.answerPane(0)->toPlainText()));
        QVERIFY(!panel.askButton()->isEnabled());
    }
};

QTEST_MAIN(TestAskPanel)
#include "test_ask_panel.moc"
