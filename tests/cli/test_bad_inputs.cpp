// Every case of the bad-input corpus (tests/data/bad/cases.json: checkpoints, configs, Plans,
// tokenizers, images, IDX files, caption folders, run scores) is refused with its one line, by the CLI (exit
// code 1, nothing on stdout, "error: <line>\n" on stderr) and by the core API (ps::Error with the
// same line); afterwards the case's files are byte-identical and no output folder exists.
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <opencv2/imgcodecs.hpp>

#include "core/data/caption_folder.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/io/json_util.h"
#include "core/io/tokenizer.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/run_score.h"
#include "core/model/model_map.h"
#include "core/prune/plugins.h"
#include "tests/test_support.h"

namespace {

const QString kCorpus = QString(PS_SOURCE_DIR) + "/tests/data/bad";
const QStringList kTokenizerFiles{"tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"};

// Every file below `path` (or `path` itself) with its bytes; hidden files included, so a temporary
// left behind shows.
std::map<QString, QByteArray> snapshot(const QString& path) {
    std::map<QString, QByteArray> files;
    if (QFileInfo(path).isFile()) files[path] = ps_test::read_bytes(path);
    QDirIterator it(path, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString f = it.next();
        files[f] = ps_test::read_bytes(f);
    }
    return files;
}

QString expand(QString text, const QString& casePath) {
    return text.replace("{case}", casePath).replace("{model}", PS_DEFAULT_MODEL);
}

}  // namespace

class TestBadInputs : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString goodImage_;

    // The default model with the case's tokenizer files laid over it (a case named "missing" has none).
    QString tokenizerFolder(const QString& source, const QString& name) {
        const QString dir = tmp_.filePath("tokenizer_" + name);
        if (!QDir().mkpath(dir)) return {};
        for (const char* f : {"config.json", "model.safetensors", "preprocessor_config.json"})
            QFile::link(QString(PS_DEFAULT_MODEL) + "/" + f, dir + "/" + f);
        if (name != "missing")
            for (const QString& f : kTokenizerFiles) QFile::copy(QString(PS_DEFAULT_MODEL) + "/" + f, dir + "/" + f);
        for (const QString& f : QDir(source).entryList(QDir::Files)) {
            QFile::remove(dir + "/" + f);
            QFile::copy(source + "/" + f, dir + "/" + f);
        }
        return dir;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        // The methods the CLI knows: the built-ins and the build's plugin.
        QVERIFY(ps::load_plugins({PS_RIA_PLUGIN}).warnings.empty());
        goodImage_ = tmp_.filePath("good.png");
        cv::Mat image(28, 28, CV_8UC3);
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x) image.at<cv::Vec3b>(y, x) = {static_cast<uchar>(9 * x), static_cast<uchar>(9 * y), 128};
        QVERIFY(cv::imwrite(goodImage_.toStdString(), image));
    }

    void refused_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("error");
        QTest::addColumn<bool>("ownModel");
        const nlohmann::json doc = ps::read_json_file((kCorpus + "/cases.json").toStdString());
        QSet<QString> kinds;
        for (const auto& c : doc.at("cases")) {
            const QString path = QString::fromStdString(c.at("path").get<std::string>());
            kinds.insert(QString::fromStdString(c.at("kind").get<std::string>()));
            QTest::newRow(qPrintable(path)) << QString::fromStdString(c.at("kind").get<std::string>()) << path
                                            << QString::fromStdString(c.at("error").get<std::string>()) << c.value("own_model", false);
        }
        QVERIFY2(doc.at("cases").size() >= 30, "the corpus has fewer than 30 cases");
        QCOMPARE(kinds.size(), 7);
    }

    void refused() {
        QFETCH(QString, kind);
        QFETCH(QString, path);
        QFETCH(QString, error);
        QFETCH(bool, ownModel);
        const QString source = kCorpus + "/" + path;
        QString casePath = source;
        if (kind == "tokenizer") casePath = tokenizerFolder(source, QFileInfo(source).fileName());
        QVERIFY(!casePath.isEmpty());
        const QString expected = expand(error, casePath);
        const std::map<QString, QByteArray> before = snapshot(source), beforeCase = snapshot(casePath);
        const QString out = tmp_.filePath("out_" + QString(path).replace('/', '_'));

        QStringList args;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (kind == "checkpoint") args = {"inspect", casePath};
        if (kind == "plan") args = QStringList{"prune", "--plan", casePath, "--out", out} + (ownModel ? QStringList{} : QStringList{"--model", PS_DEFAULT_MODEL});
        if (kind == "tokenizer") args = {"run", casePath, "--image", goodImage_, "--text", "a bag"};
        if (kind == "image") args = {"tokens", PS_DEFAULT_MODEL, "--image", casePath, "--out", out + ".png"};
        if (kind == "idx") {
            args = {"eval", PS_DEFAULT_MODEL, "--limit", "2"};
            env.insert("PRUNESTUDIO_FASHION_MNIST", casePath);
        }
        if (kind == "captions") args = {"eval", PS_DEFAULT_MODEL, "--data", casePath, "--limit", "2"};
        if (kind == "score") args = {"score", casePath};
        QVERIFY2(!args.isEmpty(), qPrintable("unknown kind " + kind));
        QProcess cli;
        cli.setProcessEnvironment(env);
        cli.start(PS_CLI, args);
        QVERIFY(cli.waitForFinished(120000));
        QCOMPARE(cli.exitStatus(), QProcess::NormalExit);  // no crash
        QCOMPARE(QString::fromUtf8(cli.readAllStandardError()), "error: " + expected + "\n");
        QCOMPARE(cli.readAllStandardOutput(), QByteArray());
        QCOMPARE(cli.exitCode(), 1);

        const std::string p = casePath.toStdString();
        const QString core = ps_test::error_of([&] {
            if (kind == "checkpoint") ps::inspect_checkpoint(p);
            if (kind == "plan") {
                ps::Plan plan = ps::Plan::load(p);
                if (!ownModel) plan.model = PS_DEFAULT_MODEL;
                ps::run_prune(plan, out.toStdString(), {});
            }
            if (kind == "tokenizer") ps::load_tokenizer(p);
            if (kind == "image") ps::load_image(p);
            if (kind == "idx") ps::load_fashion_mnist(p, "test");
            if (kind == "captions") ps::load_caption_folder(p);
            if (kind == "score") ps::score_run(p, {}, {});
        });
        QCOMPARE(core, expected);

        QVERIFY(snapshot(source) == before);
        QVERIFY(snapshot(casePath) == beforeCase);
        QVERIFY(!QFileInfo::exists(out));
        QVERIFY(!QFileInfo::exists(out + ".png"));
    }
};

QTEST_MAIN(TestBadInputs)
#include "test_bad_inputs.moc"
