// core/data/image.cpp: decoded pixels equal what transformers.image_utils.load_image (PIL) gives,
// and files that are not images fail with one line naming them.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/data/image.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_view.h"
#include "tests/test_support.h"

namespace {

at::Tensor to_tensor(const cv::Mat& img) {
    return at::from_blob(img.clone().data, {img.rows, img.cols, img.channels()}, at::kByte).clone();
}

// The message of the ps::Error `load_image(path)` throws, or "" if it throws none.
QString load_error(const QString& path) {
    return ps_test::error_of([&] { ps::load_image(path.toStdString()); });
}

}  // namespace

class TestImage : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString ref_;

private Q_SLOTS:
    void initTestCase() {
        ref_ = tmp_.filePath("decode");
        const auto r = ps_test::run_python("image_reference.py", {"decode", ref_});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void matches_transformers_load_image() {
        auto file = ps::SafetensorsFile::open((ref_ + "/decoded.safetensors").toStdString());
        QCOMPARE(file->tensors().size(), size_t(7));
        for (const ps::TensorInfo& info : file->tensors()) {
            const QString name = QString::fromStdString(info.name);
            const cv::Mat img = ps::load_image((ref_ + "/" + name).toStdString());
            QCOMPARE(img.type(), CV_8UC3);
            const at::Tensor expected = ps::tensor_view(file, info);
            QCOMPARE(std::vector<int64_t>({img.rows, img.cols, 3}), expected.sizes().vec());
            const int diff = (to_tensor(img).to(at::kInt) - expected.to(at::kInt)).abs().max().item<int>();
            qInfo("%-17s %dx%d  max |diff| vs PIL: %d", qPrintable(name), img.cols, img.rows, diff);
            // PNG is lossless; both JPEG decoders are libjpeg-turbo with the same IDCT and upsampling.
            QVERIFY2(diff == 0, qPrintable(name));
        }
    }

    void exif_orientation_is_applied() {
        const cv::Mat upright = ps::load_image((ref_ + "/rgb.jpg").toStdString());
        const cv::Mat rotated = ps::load_image((ref_ + "/exif_rotated.jpg").toStdString());
        QCOMPARE(rotated.rows, upright.cols);
        QCOMPARE(rotated.cols, upright.rows);
    }

    void decodes_from_memory() {
        const QByteArray bytes = ps_test::read_bytes(ref_ + "/rgba.png");
        const std::vector<uint8_t> v(bytes.begin(), bytes.end());
        const cv::Mat a = ps::decode_image(v, "memory");
        const cv::Mat b = ps::load_image((ref_ + "/rgba.png").toStdString());
        QVERIFY(at::equal(to_tensor(a), to_tensor(b)));
        try {
            ps::decode_image({'n', 'o', 'p', 'e'}, "upload #3");
            QFAIL("no error");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).startsWith("upload #3: cannot decode image ("), e.what());
        }
    }

    void bad_files_fail_with_one_line() {
        const QByteArray png = ps_test::read_bytes(ref_ + "/rgb.png");
        const QByteArray jpg = ps_test::read_bytes(ref_ + "/rgb.jpg");
        QVERIFY(!png.isEmpty() && !jpg.isEmpty());
        const QList<QPair<QString, QByteArray>> files{
            {"empty.png", QByteArray()},
            {"truncated.png", png.left(png.size() / 2)},
            {"header_only.png", png.left(40)},
            {"text.png", "this is not an image\n"},
            {"truncated.jpg", jpg.left(jpg.size() * 2 / 3)},
            {"noise.jpg", QByteArray("\xff\xd8\xff\xe0") + QByteArray(300, '\x5a')},
        };
        const QString missing = tmp_.filePath("missing.png");
        QCOMPARE(load_error(missing), missing + ": cannot open image: No such file or directory");
        QStringList paths;
        for (const auto& [name, bytes] : files) {
            paths << tmp_.filePath(name);
            ps_test::write_bytes(paths.back(), bytes);
        }
        for (const QString& path : paths) {
            const QString msg = load_error(path);
            qInfo("%s", qPrintable(msg));
            QVERIFY2(msg.startsWith(path + ": cannot decode image ("), qPrintable(path + " -> " + msg));
            QVERIFY2(msg.endsWith(")") && !msg.contains('\n'), qPrintable(msg));
        }
    }
};

QTEST_GUILESS_MAIN(TestImage)
#include "test_image.moc"
