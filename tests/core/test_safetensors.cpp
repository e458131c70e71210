// core/io/safetensors.cpp: header validation (every bad-input case gives one line naming the file),
// and the writer's layout, round trip and atomicity.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "tests/test_support.h"

namespace {

QByteArray file_image(const QByteArray& header, const QByteArray& data, qint64 declared_len = -1) {
    const quint64 n = declared_len < 0 ? static_cast<quint64>(header.size()) : static_cast<quint64>(declared_len);
    QByteArray out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + header + data;
}

QByteArray zeros(int n) { return QByteArray(n, '\0'); }

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void bad_input_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        const QByteArray ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
        QTest::newRow("empty file") << QByteArray() << "truncated: 0 bytes";
        QTest::newRow("shorter than length field") << QByteArray("\x10\x00\x00", 3) << "truncated: 3 bytes";
        QTest::newRow("header length beyond file") << file_image(ok_header, zeros(8), 4096) << "exceeds the";
        QTest::newRow("header length over limit") << file_image("{}", {}, 200ll * 1024 * 1024) << "100 MB limit";
        QTest::newRow("header not JSON") << file_image("{not json", {}) << "header is not valid JSON";
        QTest::newRow("header not object") << file_image("[1,2]", {}) << "header is not a JSON object";
        QTest::newRow("data truncated") << file_image(ok_header, zeros(5))
                                        << "tensor 'a': data_offsets [0, 8) outside the 5-byte data buffer";
        QTest::newRow("offsets beyond buffer")
            << file_image(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", zeros(16)) << "outside the";
        QTest::newRow("offsets overlap")
            << file_image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                          R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                          zeros(24))
            << "tensors 'a' and 'b' overlap";
        QTest::newRow("end before begin")
            << file_image(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}})", zeros(8)) << "end before begin";
        QTest::newRow("shape x dtype != range")
            << file_image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", zeros(16))
            << "byte range is 16 bytes but shape x dtype needs 12";
        QTest::newRow("unknown dtype")
            << file_image(R"({"a":{"dtype":"F17","shape":[4],"data_offsets":[0,16]}})", zeros(16))
            << "unknown dtype \"F17\"";
        QTest::newRow("duplicate names")
            << file_image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                          R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                          zeros(2))
            << "duplicate tensor name 'a'";
        QTest::newRow("negative dimension")
            << file_image(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", zeros(1))
            << "shape entries must be non-negative integers";
        QTest::newRow("shape overflow")
            << file_image(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", zeros(8))
            << "shape overflows";
        QTest::newRow("missing offsets") << file_image(R"({"a":{"dtype":"U8","shape":[1]}})", zeros(1))
                                         << "\"data_offsets\" must be two non-negative integers";
        QTest::newRow("metadata not strings")
            << file_image(R"({"__metadata__":{"k":1}})", {}) << "\"__metadata__\" value of 'k' is not a string";
    }

    void bad_input() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const QString path = tmp_.filePath(QString("bad_%1.safetensors").arg(QTest::currentDataTag()).replace(' ', '_'));
        ps_test::write_bytes(path, bytes);
        try {
            ps::SafetensorsFile::open(path.toStdString());
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.startsWith(path + ": "), qPrintable(msg));
            QVERIFY2(msg.contains(expected), qPrintable(msg));
            QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        }
    }

    void missing_file() {
        const std::string path = tmp_.filePath("nope.safetensors").toStdString();
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::SafetensorsFile::open(path));
    }

    void parses_valid_header() {
        const QByteArray header = R"({"__metadata__":{"format":"pt"},)"
                                  R"("w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
                                  R"("s":{"dtype":"I64","shape":[],"data_offsets":[12,20]},)"
                                  R"("e":{"dtype":"F32","shape":[0,5],"data_offsets":[20,20]}})";
        const QByteArray img = file_image(header, zeros(20));
        auto h = ps::parse_safetensors(reinterpret_cast<const uint8_t*>(img.constData()), img.size(), "mem");
        QCOMPARE(h.tensors.size(), size_t(3));
        QCOMPARE(h.metadata.at("format"), std::string("pt"));
        QCOMPARE(h.data_offset, uint64_t(8 + header.size()));
        QCOMPARE(h.tensors[0].name, std::string("w"));  // sorted by offset
        QCOMPARE(h.tensors[0].numel(), uint64_t(6));
        QCOMPARE(h.tensors[1].name, std::string("s"));
        QCOMPARE(h.tensors[1].numel(), uint64_t(1));
        QVERIFY(h.tensors[1].shape.empty());
        QCOMPARE(h.tensors[2].name, std::string("e"));
        QCOMPARE(h.tensors[2].numel(), uint64_t(0));
    }

    void writer_round_trip() {
        // One tensor of every dtype, with byte patterns that differ per tensor.
        std::vector<std::vector<uint8_t>> buffers;
        std::vector<ps::TensorBytes> tensors;
        const ps::DType all[] = {ps::DType::BOOL, ps::DType::U8,  ps::DType::I8,   ps::DType::I16, ps::DType::U16,
                                 ps::DType::I32,  ps::DType::U32, ps::DType::I64,  ps::DType::U64, ps::DType::F16,
                                 ps::DType::BF16, ps::DType::F32, ps::DType::F64,  ps::DType::F8_E4M3,
                                 ps::DType::F8_E5M2};
        int k = 0;
        for (ps::DType t : all) {
            const std::vector<int64_t> shape{3, k + 1};
            const size_t n = 3 * (k + 1) * ps::dtype_size(t);
            buffers.emplace_back(n);
            for (size_t i = 0; i < n; ++i) buffers.back()[i] = static_cast<uint8_t>(i * 13 + k * 7 + 1);
            if (t == ps::DType::BOOL) for (auto& b : buffers.back()) b &= 1;
            tensors.push_back({std::string("t_") + ps::dtype_name(t), t, shape, buffers.back().data(), n});
            ++k;
        }
        tensors.push_back({"empty", ps::DType::F32, {0, 7}, nullptr, 0});
        const std::string path = tmp_.filePath("rt.safetensors").toStdString();
        ps::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "round trip"}});

        auto f = ps::SafetensorsFile::open(path);
        QCOMPARE(f->tensors().size(), tensors.size());
        QCOMPARE(f->metadata().at("note"), std::string("round trip"));
        size_t prev_size = 8;
        for (const ps::TensorInfo& info : f->tensors()) {  // data order: descending element size
            QVERIFY(ps::dtype_size(info.dtype) <= prev_size);
            prev_size = ps::dtype_size(info.dtype);
            QCOMPARE(reinterpret_cast<uintptr_t>(f->data(info)) % ps::dtype_size(info.dtype), uintptr_t(0));
        }
        for (const ps::TensorBytes& t : tensors) {
            const ps::TensorInfo* info = f->find(t.name);
            QVERIFY2(info, t.name.c_str());
            QCOMPARE(info->dtype, t.dtype);
            QCOMPARE(info->shape, t.shape);
            QCOMPARE(info->nbytes(), t.nbytes);
            if (t.nbytes) QVERIFY(std::memcmp(f->data(*info), t.data, t.nbytes) == 0);
        }
    }

    void writer_rejects_bad_tensor_and_keeps_old_file() {
        const QString path = tmp_.filePath("keep.safetensors");
        ps_test::write_bytes(path, "previous content");
        const uint8_t bytes[6] = {};
        const std::vector<ps::TensorBytes> bad{{"x", ps::DType::F32, {2}, bytes, 6}};
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_safetensors(path.toStdString(), bad));
        const std::vector<ps::TensorBytes> dup{{"x", ps::DType::U8, {1}, bytes, 1}, {"x", ps::DType::U8, {1}, bytes, 1}};
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_safetensors(path.toStdString(), dup));
        QCOMPARE(ps_test::read_bytes(path), QByteArray("previous content"));
        const QStringList leftovers = QDir(tmp_.path()).entryList({"keep.safetensors.tmp-*"}, QDir::Files);
        QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(", ")));
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
