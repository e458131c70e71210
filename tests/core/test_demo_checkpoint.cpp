// core/model/demo_checkpoint.cpp: the generated demo is a valid LLaVA checkpoint that transformers
// loads without a missing or unexpected key, and it is reproducible from its seed; written in
// shards it holds the same tensors, which transformers loads through the index; a cancelled write
// leaves nothing.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/tensor_view.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/model_map.h"
#include "tests/test_support.h"

class TestDemoCheckpoint : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void loads_in_transformers() {
        const QString dir = tmp_.filePath("demo");
        ps::write_demo_checkpoint(dir.toStdString());
        auto r = ps_test::run_python("hf_check.py", {"load", dir});
        QVERIFY2(r.exit_code == 0, (r.out + r.err).constData());
        const auto out = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(out["params"].get<uint64_t>(), ps::inspect_checkpoint(dir.toStdString()).total_params);
    }

    void layout() {
        const QString dir = tmp_.filePath("demo_layout");
        ps::write_demo_checkpoint(dir.toStdString());
        const auto m = ps::inspect_checkpoint(dir.toStdString());
        QCOMPARE(m.family, std::string("llava"));
        QCOMPARE(m.of(ps::Modality::Vision).linears, 4 * 6);
        QCOMPARE(m.of(ps::Modality::Projector).linears, 2);
        QCOMPARE(m.of(ps::Modality::Language).linears, 6 * 7);
        QCOMPARE(m.of(ps::Modality::Other).linears, 1);
    }

    void seeded_and_never_overwrites() {
        const QString a = tmp_.filePath("seed_a"), b = tmp_.filePath("seed_b"), c = tmp_.filePath("seed_c");
        ps::write_demo_checkpoint(a.toStdString(), 7);
        ps::write_demo_checkpoint(b.toStdString(), 7);
        ps::write_demo_checkpoint(c.toStdString(), 8);
        const auto ca = ps::Checkpoint::open(a.toStdString()), cb = ps::Checkpoint::open(b.toStdString()),
                   cc = ps::Checkpoint::open(c.toStdString());
        const std::string w = "language_model.model.layers.0.mlp.up_proj.weight";
        QVERIFY(at::equal(ps::tensor_view(ca, w), ps::tensor_view(cb, w)));
        QVERIFY(!at::equal(ps::tensor_view(ca, w), ps::tensor_view(cc, w)));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_demo_checkpoint(a.toStdString()));
    }

    void shards_hold_the_same_tensors() {
        const QString one = tmp_.filePath("one_file"), sharded = tmp_.filePath("sharded");
        ps::write_demo_checkpoint(one.toStdString(), 4);
        // 300 kB shards: the 128 x 1024 embedding (512 kB) gets one of its own.
        ps::write_demo_checkpoint(sharded.toStdString(), 4, {}, 300 * 1000);
        const QStringList files = QDir(sharded).entryList({"model-*.safetensors"});
        QVERIFY2(files.size() > 3, qPrintable(files.join(' ')));
        QCOMPARE(files.front(), QString("model-00001-of-%1.safetensors").arg(files.size(), 5, 10, QChar('0')));
        QVERIFY(!QFile::exists(sharded + "/model.safetensors"));
        const auto index = nlohmann::json::parse(ps_test::read_bytes(sharded + "/model.safetensors.index.json").toStdString());
        const auto a = ps::Checkpoint::open(one.toStdString()), b = ps::Checkpoint::open(sharded.toStdString());
        QCOMPARE(b.names(), a.names());
        uint64_t total = 0;
        for (const std::string& name : a.names()) {
            QVERIFY2(at::equal(ps::tensor_view(a, name), ps::tensor_view(b, name)), name.c_str());
            total += a.at(name).info->nbytes();
        }
        QCOMPARE(index["metadata"]["total_size"].get<uint64_t>(), total);
        QCOMPARE(index["weight_map"].size(), a.names().size());
        auto r = ps_test::run_python("hf_check.py", {"load", sharded});
        QVERIFY2(r.exit_code == 0, (r.out + r.err).constData());
    }

    void cancelled_write_leaves_nothing() {
        const QString dir = tmp_.filePath("cancelled");
        ps::JobControl job;
        int64_t reports = 0;
        job.on_progress = [&](const ps::Progress& p) {
            if (p.stage == "demo" && ++reports == 5) job.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, ps::write_demo_checkpoint(dir.toStdString(), 0, {}, 300 * 1000, job));
        QCOMPARE(reports, int64_t(5));
        QCOMPARE(QDir(tmp_.path()).entryList({"cancelled*"}, QDir::AllEntries | QDir::Hidden).size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestDemoCheckpoint)
#include "test_demo_checkpoint.moc"
