// core/io/checkpoint.cpp: single-file, sharded and loose layouts, and every way a folder can be
// wrong, each reported in one line naming the file.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "tests/test_support.h"

namespace {

const uint8_t kBytes[64] = {1, 2, 3, 4, 5, 6, 7, 8};

void write_shard(const QString& path, const std::vector<std::string>& names) {
    std::vector<ps::TensorBytes> t;
    for (const auto& n : names) t.push_back({n, ps::DType::F32, {2, 2}, kBytes, 16});
    ps::write_safetensors(path.toStdString(), t);
}

void write_text(const QString& path, const std::string& text) { ps::write_file_atomic(path.toStdString(), text); }

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    int n_ = 0;

    QString fresh_dir(bool with_config = true) {
        const QString d = tmp_.filePath(QString("c%1").arg(n_++));
        QDir().mkpath(d);
        if (with_config) write_text(d + "/config.json", R"({"model_type": "clip"})");
        return d;
    }

    void expect_error(const QString& dir, const QString& file, const QString& what) {
        try {
            ps::Checkpoint::open(dir.toStdString());
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.startsWith(file + ": "), qPrintable(msg));
            QVERIFY2(msg.contains(what), qPrintable(msg));
            QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        }
    }

private Q_SLOTS:
    void single_file() {
        const QString d = fresh_dir();
        write_shard(d + "/model.safetensors", {"b.weight", "a.weight"});
        const auto c = ps::Checkpoint::open(d.toStdString());
        QCOMPARE(c.model_type(), std::string("clip"));
        QCOMPARE(c.names(), (std::vector<std::string>{"a.weight", "b.weight"}));
        QCOMPARE(c.at("a.weight").info->shape, (std::vector<int64_t>{2, 2}));
        QCOMPARE(c.shards().size(), size_t(1));
    }

    void sharded_with_index() {
        const QString d = fresh_dir();
        write_shard(d + "/model-00001-of-00002.safetensors", {"x.weight", "y.weight"});
        write_shard(d + "/model-00002-of-00002.safetensors", {"z.weight"});
        write_text(d + "/model.safetensors.index.json",
                   R"({"metadata":{"total_size":48},"weight_map":{"x.weight":"model-00001-of-00002.safetensors",)"
                   R"("y.weight":"model-00001-of-00002.safetensors","z.weight":"model-00002-of-00002.safetensors"}})");
        const auto c = ps::Checkpoint::open(d.toStdString());
        QCOMPARE(c.names(), (std::vector<std::string>{"x.weight", "y.weight", "z.weight"}));
        QCOMPARE(c.shards().size(), size_t(2));
        QVERIFY(c.at("z.weight").shard->path().find("00002") != std::string::npos);
        QCOMPARE(c.total_bytes(), c.shards()[0]->file_size() + c.shards()[1]->file_size());
    }

    void loose_shards() {
        const QString d = fresh_dir();
        write_shard(d + "/part_a.safetensors", {"a.weight"});
        write_shard(d + "/part_b.safetensors", {"b.weight"});
        QCOMPARE(ps::Checkpoint::open(d.toStdString()).names().size(), size_t(2));
    }

    void errors() {
        const QString missing = tmp_.filePath("does-not-exist");
        expect_error(missing, missing, "no such folder");

        QString d = fresh_dir();
        write_shard(d + "/model.safetensors", {"a.weight"});
        expect_error(d + "/model.safetensors", d + "/model.safetensors", "not a folder");

        d = fresh_dir(false);
        write_shard(d + "/model.safetensors", {"a.weight"});
        expect_error(d, d + "/config.json", "missing (not a Hugging Face checkpoint folder)");

        d = fresh_dir(false);
        write_text(d + "/config.json", "{\"model_type\": ");
        expect_error(d, d + "/config.json", "not valid JSON");

        d = fresh_dir(false);
        write_text(d + "/config.json", "[]");
        expect_error(d, d + "/config.json", "not a JSON object");

        d = fresh_dir();
        expect_error(d, d, "no .safetensors weights in the folder");

        d = fresh_dir();
        write_text(d + "/pytorch_model.bin", "pickle");
        expect_error(d, d + "/pytorch_model.bin", "pickle checkpoints are not loaded");

        d = fresh_dir();
        write_shard(d + "/model-1.safetensors", {"a.weight"});
        write_text(d + "/model.safetensors.index.json",
                   R"({"weight_map":{"a.weight":"model-1.safetensors","b.weight":"model-2.safetensors"}})");
        expect_error(d, d + "/model.safetensors.index.json", "shard 'model-2.safetensors' named in the index is missing");

        d = fresh_dir();
        write_shard(d + "/model-1.safetensors", {"a.weight"});
        write_text(d + "/model.safetensors.index.json", R"({"weight_map":{"q.weight":"model-1.safetensors"}})");
        expect_error(d, d + "/model-1.safetensors", "tensor 'q.weight' listed in the index is not in this shard");

        d = fresh_dir();
        write_text(d + "/model.safetensors.index.json", R"({"metadata":{}})");
        expect_error(d, d + "/model.safetensors.index.json", "missing \"weight_map\"");

        d = fresh_dir();
        write_text(d + "/model.safetensors.index.json", R"({"weight_map":{"a.weight":"../x.safetensors"}})");
        expect_error(d, d + "/model.safetensors.index.json", "must be a file in the checkpoint folder");

        d = fresh_dir();
        write_shard(d + "/a.safetensors", {"same.weight"});
        write_shard(d + "/b.safetensors", {"same.weight"});
        expect_error(d, d + "/b.safetensors", "tensor 'same.weight' also appears in another shard");

        d = fresh_dir();
        ps_test::write_bytes(d + "/model.safetensors", QByteArray("\x08\x00\x00\x00\x00\x00\x00\x00{}", 10));
        expect_error(d, d + "/model.safetensors", "truncated");
    }

    void at_names_missing_tensor() {
        const QString d = fresh_dir();
        write_shard(d + "/model.safetensors", {"a.weight"});
        const auto c = ps::Checkpoint::open(d.toStdString());
        QVERIFY(c.find("nope") == nullptr);
        QVERIFY_THROWS_EXCEPTION(ps::Error, c.at("nope"));
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
