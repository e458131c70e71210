// core/data/fashion_mnist.cpp: the Debian dataset-fashion-mnist files load with the published
// sizes and class balance and the same pixels numpy reads; malformed copies fail naming the file.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/data/fashion_mnist.h"
#include "core/error.h"
#include "tests/core/idx_fixture.h"
#include "tests/test_support.h"

namespace {

// Reads both splits with gzip + numpy (the 16- and 8-byte IDX headers skipped by offset) and
// prints, per split: N, the sum of all pixels, label counts, and for a few images their pixel
// sum, middle row and label.
const char* kReference = R"PY(
import gzip, json, sys
import numpy as np
out = {}
for split, prefix in (("train", "train"), ("test", "t10k")):
    with gzip.open(f"{sys.argv[1]}/{prefix}-images-idx3-ubyte.gz") as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f"{sys.argv[1]}/{prefix}-labels-idx1-ubyte.gz") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    idx = [0, 1, 777, len(img) // 2, len(img) - 1]
    out[split] = {"n": len(img), "total": int(img.sum(dtype=np.int64)), "index": idx,
                  "counts": np.bincount(lab, minlength=10).tolist(),
                  "image_sums": [int(img[i].sum(dtype=np.int64)) for i in idx],
                  "rows": [img[i, 14].tolist() for i in idx],
                  "labels": [int(lab[i]) for i in idx]}
print(json.dumps(out))
)PY";

QString load_error(const QString& dir, const QString& split) {
    return ps_test::error_of([&] { ps::load_fashion_mnist(dir.toStdString(), split.toStdString()); });
}

}  // namespace

class TestFashionMnist : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_;

    // A folder holding a "test" split made of the given IDX files.
    QString fake_split(const QString& name, const QByteArray& images, const QByteArray& labels) {
        const QString dir = tmp_.filePath(name);
        QDir().mkpath(dir);
        ps_test::write_gz(dir + "/t10k-images-idx3-ubyte.gz", images);
        ps_test::write_gz(dir + "/t10k-labels-idx1-ubyte.gz", labels);
        return dir;
    }
    void expect_error(const QString& dir, const QString& split, const QString& starts, const QString& contains) {
        const QString msg = load_error(dir, split);
        qInfo("%s", qPrintable(msg));
        QVERIFY2(msg.startsWith(starts + ": ") && msg.contains(contains) && !msg.contains('\n'),
                 qPrintable("'" + msg + "', expected '" + starts + ": ..." + contains + "'"));
    }

private Q_SLOTS:
    void initTestCase() {
        const auto r = ps_test::run_program(PS_PYTHON, {"-c", kReference, QString::fromStdString(ps::fashion_mnist_dir())});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        ref_ = nlohmann::json::parse(r.out.toStdString());
    }

    void class_names() {
        const auto& classes = ps::fashion_mnist_classes();
        QCOMPARE(classes.size(), size_t{10});
        QCOMPARE(classes.front(), std::string("t-shirt"));
        QCOMPARE(classes[4], std::string("coat"));
        QCOMPARE(classes.back(), std::string("ankle boot"));
    }

    void dir_follows_environment() {
        const QByteArray saved = qgetenv("PRUNESTUDIO_FASHION_MNIST");
        const bool was_set = qEnvironmentVariableIsSet("PRUNESTUDIO_FASHION_MNIST");
        qunsetenv("PRUNESTUDIO_FASHION_MNIST");
        QCOMPARE(ps::fashion_mnist_dir(), std::string("/usr/share/datasets/fashion-mnist"));
        qputenv("PRUNESTUDIO_FASHION_MNIST", "");
        QCOMPARE(ps::fashion_mnist_dir(), std::string("/usr/share/datasets/fashion-mnist"));
        qputenv("PRUNESTUDIO_FASHION_MNIST", tmp_.path().toUtf8());
        QCOMPARE(ps::fashion_mnist_dir(), tmp_.path().toStdString());
        if (was_set) {
            qputenv("PRUNESTUDIO_FASHION_MNIST", saved);
        } else {
            qunsetenv("PRUNESTUDIO_FASHION_MNIST");
        }
    }

    void real_splits_match_numpy() {
        for (const auto& [split, n] : {std::pair<const char*, int64_t>{"train", 60000}, {"test", 10000}}) {
            const ps::LabelledImages d = ps::load_fashion_mnist(ps::fashion_mnist_dir(), split);
            const nlohmann::json& ref = ref_[split];
            QCOMPARE(d.images.scalar_type(), at::kByte);
            QCOMPARE(d.images.sizes().vec(), std::vector<int64_t>({n, 28, 28}));
            QCOMPARE(d.labels.scalar_type(), at::kLong);
            QCOMPARE(d.labels.sizes().vec(), std::vector<int64_t>({n}));
            QCOMPARE(d.classes, ps::fashion_mnist_classes());
            QCOMPARE(ref["n"].get<int64_t>(), n);

            // exactly n / 10 of each class, here and in numpy
            const at::Tensor counts = at::bincount(d.labels, {}, 10);
            QCOMPARE(counts.sizes().vec(), std::vector<int64_t>({10}));
            QVERIFY2(at::equal(counts, at::full({10}, n / 10, at::kLong)), split);
            QCOMPARE(ref["counts"].get<std::vector<int64_t>>(), std::vector<int64_t>(10, n / 10));

            QCOMPARE(d.images.sum(at::kLong).item<int64_t>(), ref["total"].get<int64_t>());
            for (size_t k = 0; k < ref["index"].size(); ++k) {
                const int64_t i = ref["index"][k];
                const at::Tensor img = d.images[i];
                QCOMPARE(img.sum(at::kLong).item<int64_t>(), ref["image_sums"][k].get<int64_t>());
                const at::Tensor row = img[14].to(at::kLong).contiguous();
                QCOMPARE(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + 28),
                         ref["rows"][k].get<std::vector<int64_t>>());
                QCOMPARE(d.labels[i].item<int64_t>(), ref["labels"][k].get<int64_t>());
            }
            qInfo("%s: %lld images, %lld pixel sum, label counts %s", split, static_cast<long long>(n),
                  static_cast<long long>(ref["total"].get<int64_t>()), ref["counts"].dump().c_str());
        }
    }

    void loads_a_small_copy() {
        const QString dir = fake_split("small", ps_test::idx_bytes({4, 2, 3}, ps_test::counting_bytes(24)),
                                       ps_test::idx_bytes({4}, QByteArray("\x00\x09\x03\x03", 4)));
        const ps::LabelledImages d = ps::load_fashion_mnist(dir.toStdString(), "test");
        QCOMPARE(d.images.sizes().vec(), std::vector<int64_t>({4, 2, 3}));
        QCOMPARE(d.images[3][1][2].item<int>(), 23);
        QVERIFY(at::equal(d.labels, at::tensor(std::vector<int64_t>{0, 9, 3, 3})));
    }

    void bad_copies_name_the_file() {
        const QByteArray images = ps_test::idx_bytes({4, 2, 3}, ps_test::counting_bytes(24));
        const QByteArray labels = ps_test::idx_bytes({4}, QByteArray("\x00\x09\x03\x03", 4));

        expect_error(tmp_.path(), "validation", "fashion-mnist", "unknown split 'validation' (expected train or test)");
        const QString missing = tmp_.filePath("no_such_dir");
        expect_error(missing, "train", missing, "no such folder");
        const QString ok = fake_split("ok", images, labels);
        expect_error(ok, "train", ok + "/train-images-idx3-ubyte.gz", "cannot open");

        QString dir = fake_split("flat", ps_test::idx_bytes({4, 6}, ps_test::counting_bytes(24)), labels);
        expect_error(dir, "test", dir + "/t10k-images-idx3-ubyte.gz", "expected 3 dimensions");
        dir = fake_split("labels2d", images, ps_test::idx_bytes({2, 2}, QByteArray("\x00\x01\x02\x03", 4)));
        expect_error(dir, "test", dir + "/t10k-labels-idx1-ubyte.gz", "expected 1 dimension");
        dir = fake_split("count", images, ps_test::idx_bytes({3}, QByteArray("\x00\x01\x02", 3)));
        expect_error(dir, "test", dir + "/t10k-labels-idx1-ubyte.gz", "3 labels for 4 images");
        dir = fake_split("range", images, ps_test::idx_bytes({4}, QByteArray("\x00\x01\x0a\x03", 4)));
        expect_error(dir, "test", dir + "/t10k-labels-idx1-ubyte.gz", "label 10 at index 2 is out of range (10 classes)");
        dir = fake_split("corrupt", images.left(20), labels);
        expect_error(dir, "test", dir + "/t10k-images-idx3-ubyte.gz", "expected 24 bytes of data");
    }
};

QTEST_GUILESS_MAIN(TestFashionMnist)
#include "test_fashion_mnist.moc"
