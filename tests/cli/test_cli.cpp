// app/cli/main.cpp: `inspect` output against transformers, and every bad input ending in exit code
// 1 with exactly one stderr line naming the file, leaving the files untouched.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/model/demo_checkpoint.h"
#include "tests/test_support.h"

namespace {

QByteArray le64(quint64 n) {
    QByteArray b(8, '\0');
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return b;
}

QByteArray st(const QByteArray& header, int data_bytes, qint64 declared = -1) {
    return le64(declared < 0 ? header.size() : declared) + header + QByteArray(data_bytes, '\0');
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString models_;

private Q_SLOTS:
    void initTestCase() {
        models_ = tmp_.filePath("models");
        QVERIFY(QDir().mkpath(models_));
        auto r = ps_test::run_python("tiny_models.py", {models_, "clip", "llava", "llava_new"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void inspect_json_matches_transformers_data() {
        QTest::addColumn<QString>("family");
        QTest::newRow("clip") << "clip";
        QTest::newRow("llava (hub layout)") << "llava";
        QTest::newRow("llava (module layout)") << "llava_new";
    }

    void inspect_json_matches_transformers() {
        QFETCH(QString, family);
        const QString dir = models_ + "/" + family;
        auto r = ps_test::run_cli({"inspect", dir, "--json"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto got = nlohmann::json::parse(r.out.toStdString());
        std::map<std::string, std::string> listed;
        for (const auto& l : got["linears"]) listed[l["name"].get<std::string>()] = l["modality"].get<std::string>();
        const auto want = nlohmann::json::parse(ps_test::read_bytes(dir + "/expected.json").toStdString())
                              .get<std::map<std::string, std::string>>();
        QCOMPARE(listed, want);
        QVERIFY(got["modalities"]["vision"]["params"].get<uint64_t>() > 0);
    }

    void inspect_text_on_demo() {
        const QString dir = tmp_.filePath("demo");
        ps::write_demo_checkpoint(dir.toStdString());
        auto r = ps_test::run_cli({"inspect", dir});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QVERIFY(r.out.contains("LLaVA-1.5 (model_type llava)"));
        QVERIFY(r.out.contains("linears (69)"));
        QVERIFY(r.out.contains("language_model.model.layers.5.mlp.down_proj"));
        QVERIFY(r.err.isEmpty());
    }

    void bad_input_data() {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QByteArray>("weights");
        QTest::addColumn<QString>("file");  // which file the error must name
        QTest::addColumn<QString>("expected");
        const QString cfg = R"({"model_type": "clip"})";
        const QByteArray good = R"({"vision_model.encoder.layers.0.mlp.fc1.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
        QTest::newRow("truncated file") << cfg << st(good, 16).left(20) << "model.safetensors" << "truncated";
        QTest::newRow("header length > file") << cfg << st(good, 16, 1 << 20) << "model.safetensors" << "exceeds";
        QTest::newRow("header not JSON") << cfg << st("{\"a\":", 0) << "model.safetensors" << "not valid JSON";
        QTest::newRow("offsets overlap")
            << cfg
            << st(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}})", 20)
            << "model.safetensors" << "overlap";
        QTest::newRow("offsets outside buffer")
            << cfg << st(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8) << "model.safetensors"
            << "outside";
        QTest::newRow("shape x dtype != range")
            << cfg << st(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16) << "model.safetensors"
            << "shape x dtype";
        QTest::newRow("unknown dtype")
            << cfg << st(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", 16) << "model.safetensors"
            << "unknown dtype";
        QTest::newRow("duplicate names")
            << cfg
            << st(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2)
            << "model.safetensors" << "duplicate tensor name";
        QTest::newRow("config missing") << QString() << st(good, 16) << "config.json" << "missing";
        QTest::newRow("config not JSON") << QString("{model_type") << st(good, 16) << "config.json" << "not valid JSON";
        QTest::newRow("unknown model_type") << QString(R"({"model_type": "mystery"})") << st(good, 16) << "config.json"
                                            << "unknown model_type";
    }

    void bad_input() {
        QFETCH(QString, config);
        QFETCH(QByteArray, weights);
        QFETCH(QString, file);
        QFETCH(QString, expected);
        const QString dir = tmp_.filePath(QString("bad_%1").arg(QTest::currentDataTag()).replace(' ', '_'));
        QVERIFY(QDir().mkpath(dir));
        if (!config.isNull()) ps::write_file_atomic((dir + "/config.json").toStdString(), config.toStdString());
        ps_test::write_bytes(dir + "/model.safetensors", weights);
        for (const QString& args : {QString("inspect"), QString("inspect --json")}) {
            auto r = ps_test::run_cli(args.split(' ') + QStringList{dir});
            QCOMPARE(r.exit_code, 1);
            QVERIFY2(r.out.isEmpty(), r.out.constData());
            const QString err = QString::fromUtf8(r.err);
            QVERIFY2(err.startsWith("error: " + dir + "/" + file + ": "), qPrintable(err));
            QVERIFY2(err.contains(expected), qPrintable(err));
            QCOMPARE(err.count('\n'), 1);
        }
        QCOMPARE(ps_test::read_bytes(dir + "/model.safetensors"), weights);
        QCOMPARE(QDir(dir).entryList(QDir::Files | QDir::Hidden).size(), config.isNull() ? 1 : 2);
    }

    void missing_shard_named_in_index() {
        const QString dir = tmp_.filePath("missing_shard");
        QVERIFY(QDir().mkpath(dir));
        ps::write_file_atomic((dir + "/config.json").toStdString(), R"({"model_type": "llava"})");
        ps::write_file_atomic((dir + "/model.safetensors.index.json").toStdString(),
                              R"({"weight_map": {"lm_head.weight": "model-00001-of-00001.safetensors"}})");
        auto r = ps_test::run_cli({"inspect", dir});
        QCOMPARE(r.exit_code, 1);
        QCOMPARE(QString::fromUtf8(r.err),
                 "error: " + dir + "/model.safetensors.index.json: shard 'model-00001-of-00001.safetensors' named in the index is missing\n");
    }

    void run_dual_encoder_matches_transformers() {
        const QString dir = tmp_.filePath("run_dual");
        auto ref = ps_test::run_python("run_reference.py", {dir, "dual"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        const auto want = nlohmann::json::parse(ref.out.toStdString());
        QStringList args{"run", dir, "--image", dir + "/image.png"};
        for (const auto& t : want["texts"]) args << "--text" << QString::fromStdString(t.get<std::string>());
        auto r = ps_test::run_cli(args);
        QVERIFY2(r.exit_code == 0, r.err.constData());
        // The image's row: "<path>  logit (prob)  logit (prob) ..."
        const QString row = QString::fromUtf8(r.out).split('\n').filter("image.png").value(0);
        const QStringList cells = row.split(' ', Qt::SkipEmptyParts);
        const auto& logits = want["logits_per_image"][0];
        QCOMPARE(cells.size(), 1 + 2 * static_cast<int>(logits.size()));
        for (size_t t = 0; t < logits.size(); ++t)
            QVERIFY2(std::abs(cells[1 + 2 * static_cast<int>(t)].toDouble() - logits[t].get<double>()) <= 1e-4, qPrintable(row));
    }

    void run_llava_matches_transformers() {
        const QString dir = tmp_.filePath("run_llava");
        auto ref = ps_test::run_python("run_reference.py", {dir, "llava"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        const auto want = nlohmann::json::parse(ref.out.toStdString());
        auto r = ps_test::run_cli({"run", dir, "--image", dir + "/image.png", "--text",
                                   QString::fromStdString(want["question"].get<std::string>()), "--max-new-tokens",
                                   QString::number(want["ids"].size())});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QCOMPARE(QString::fromUtf8(r.out), QString::fromStdString(want["answer"].get<std::string>()) + "\n");
    }

    void run_bad_inputs() {
        const QString image = tmp_.filePath("not_an_image.png");
        ps_test::write_bytes(image, "this is text, not a PNG");
        const QString dual = tmp_.filePath("run_bad_dual");
        auto ref = ps_test::run_python("run_reference.py", {dual, "dual"});
        QVERIFY2(ref.exit_code == 0, ref.err.constData());
        auto r = ps_test::run_cli({"run", dual, "--image", image, "--text", "hi"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + image.toUtf8() + ": cannot decode image"), r.err.constData());
        QCOMPARE(QString::fromUtf8(r.err).count('\n'), 1);

        const QString demo = tmp_.filePath("demo_without_tokenizer");
        ps::write_demo_checkpoint(demo.toStdString());
        r = ps_test::run_cli({"run", demo, "--image", dual + "/image.png", "--text", "hi"});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.startsWith("error: " + demo.toUtf8()) && r.err.contains("no tokenizer files"), r.err.constData());
        QCOMPARE(QString::fromUtf8(r.err).count('\n'), 1);
    }

    void usage_errors() {
        QCOMPARE(ps_test::run_cli({}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"frobnicate"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"inspect"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"inspect", "a", "b"}).exit_code, 2);
        QCOMPARE(ps_test::run_cli({"make-demo", tmp_.filePath("x"), "--seed", "abc"}).exit_code, 2);
        auto help = ps_test::run_cli({"--help"});
        QCOMPARE(help.exit_code, 0);
        QVERIFY(help.out.contains("inspect DIR"));
    }

    void make_demo_refuses_existing_folder() {
        const QString dir = tmp_.filePath("exists");
        QVERIFY(QDir().mkpath(dir));
        auto r = ps_test::run_cli({"make-demo", dir});
        QCOMPARE(r.exit_code, 1);
        QVERIFY2(r.err.contains("already exists"), r.err.constData());
        QVERIFY(QDir(dir).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
