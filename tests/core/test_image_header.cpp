// core/data/image_header.cpp: the width and height each format's header declares equal the size
// PIL reads and the size OpenCV decodes; real 8200 x 8200 images, more than kMaxImagePixels, are
// refused with one line before any decoder allocates for them. (The pixel-less BMP header fuzzing
// found is the bad-input case image/huge_header.bmp, run by test_bad_inputs.)
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include "core/data/image.h"
#include "core/data/image_header.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace {

std::vector<uint8_t> bytes_of(const QByteArray& a) { return {a.begin(), a.end()}; }

}  // namespace

class TestImageHeader : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString ref_;

    std::vector<uint8_t> file(const QString& name) { return bytes_of(ps_test::read_bytes(ref_ + "/" + name)); }

private Q_SLOTS:
    void initTestCase() {
        ref_ = tmp_.filePath("headers");
        const auto r = ps_test::run_python("image_reference.py", {"headers", ref_});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void declared_size_is_pil_and_opencv_size() {
        const QJsonObject sizes = QJsonDocument::fromJson(ps_test::read_bytes(ref_ + "/headers.json")).object();
        QCOMPARE(sizes.size(), 10);
        for (auto it = sizes.begin(); it != sizes.end(); ++it) {
            const std::vector<uint8_t> b = file(it.key());
            const ps::ImageHeader h = ps::read_image_header(b);
            const QJsonArray pil = it.value().toArray();
            qInfo("%-16s %-4s %lld x %lld", qPrintable(it.key()), h.format.c_str(), (long long)h.width, (long long)h.height);
            QVERIFY2(!h.format.empty() && !h.truncated, qPrintable(it.key()));
            QCOMPARE(h.width, pil[0].toInteger());
            QCOMPARE(h.height, pil[1].toInteger());
            const cv::Mat img = ps::decode_image(b, it.key().toStdString());
            QCOMPARE(int64_t{img.cols}, h.width);
            QCOMPARE(int64_t{img.rows}, h.height);
        }
    }

    void hand_made_headers() {
        // A top-down BMP stores its height negated (signed 32-bit field at byte 22).
        std::vector<uint8_t> bmp = file("rgb.bmp");
        const int32_t minus23 = -23;
        std::memcpy(bmp.data() + 22, &minus23, 4);
        ps::ImageHeader h = ps::read_image_header(bmp);
        QCOMPARE(h.width, int64_t{37});
        QCOMPARE(h.height, int64_t{23});
        // OS/2 BMP: 12-byte core header with 16-bit width and height.
        std::vector<uint8_t> os2 = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 12, 0, 0, 0, 0x10, 0x27, 0x20, 0x4e};
        h = ps::read_image_header(os2);
        QCOMPARE(h.width, int64_t{10000});
        QCOMPARE(h.height, int64_t{20000});
        // Big-endian TIFF: IFD at 8 with ImageWidth as a SHORT and ImageLength as a LONG.
        const std::vector<uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 2,
                                           1, 0, 0, 3, 0, 0, 0, 1, 0x01, 0x2c, 0, 0,
                                           1, 1, 0, 4, 0, 0, 0, 1, 0, 1, 0, 0};
        h = ps::read_image_header(tiff);
        QCOMPARE(h.format, std::string("TIFF"));
        QCOMPARE(h.width, int64_t{300});
        QCOMPARE(h.height, int64_t{65536});
        // libjpeg skips stray bytes between segments; so does the reader.
        std::vector<uint8_t> jpg = file("baseline.jpg");
        jpg.insert(jpg.begin() + 2 + 2 + (jpg[4] << 8 | jpg[5]), {0x12, 0x34, 0x56});  // after the APP0 segment
        h = ps::read_image_header(jpg);
        QCOMPARE(h.width, int64_t{37});
        QCOMPARE(h.height, int64_t{23});
        // Headers too short to say leave the size unknown (0), never read past the end.
        for (const char* name : {"rgb.png", "baseline.jpg", "rgb.bmp", "lossy.webp", "rgb.tif"}) {
            const std::vector<uint8_t> b = file(name);
            for (size_t n : {size_t{4}, size_t{12}}) {
                h = ps::read_image_header({b.begin(), b.begin() + n});
                QVERIFY2(h.width * h.height == 0, name);
            }
        }
    }

    void oversized_images_are_refused_in_one_line() {
        const QList<QPair<QString, QString>> cases{
            {"big.png", "PNG header declares 8200 x 8200 pixels"},
            {"big.jpg", "JPEG header declares 8200 x 8200 pixels"},
            {"big.webp", "WebP header declares 8200 x 8200 pixels"},
            {"big.tif", "TIFF header declares 8200 x 8200 pixels"},
        };
        for (const auto& [name, declares] : cases) {
            const QString path = ref_ + "/" + name;
            const QString msg = ps_test::error_of([&] { ps::load_image(path.toStdString()); });
            qInfo("%s", qPrintable(msg));
            QCOMPARE(msg, path + ": cannot decode image (" + declares + ", more than the 67108864 decoded)");
        }
        QCOMPARE(ps::kMaxImagePixels, int64_t{8192} * 8192);
    }
};

QTEST_GUILESS_MAIN(TestImageHeader)
#include "test_image_header.moc"
