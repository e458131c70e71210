// core/data/idx.cpp: raw and gzipped IDX files read into uint8 tensors of their dimensions; bad
// files (truncated or corrupt gzip, bad magic, other types, wrong sizes, hostile dimensions) fail
// with one line naming the file, without crashing or allocating what the header claims.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/data/idx.h"
#include "core/error.h"
#include "tests/core/idx_fixture.h"
#include "tests/test_support.h"

namespace {

// The message of the ps::Error read_idx(path) throws, or "" if it throws none.
QString idx_error(const QString& path) {
    return ps_test::error_of([&] { ps::read_idx(path.toStdString()); });
}

}  // namespace

class TestIdx : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // Writes `bytes` to `name` (gzipped when it ends in .gz) and checks that reading it fails
    // with one line starting with the path and containing `expected`.
    void expect_error(const QString& name, const QByteArray& bytes, const QString& expected) {
        const QString path = tmp_.filePath(name);
        if (name.endsWith(".gz")) {
            ps_test::write_gz(path, bytes);
        } else {
            ps_test::write_bytes(path, bytes);
        }
        expect_error_at(path, expected);
    }
    void expect_error_at(const QString& path, const QString& expected) {
        const QString msg = idx_error(path);
        qInfo("%s", qPrintable(msg));
        QVERIFY2(msg.startsWith(path + ": ") && msg.contains(expected) && !msg.contains('\n'),
                 qPrintable(path + " -> '" + msg + "', expected '" + expected + "'"));
    }

private Q_SLOTS:
    void reads_raw_and_gzipped_files() {
        const QByteArray data = ps_test::counting_bytes(3 * 4 * 5);
        const QByteArray file = ps_test::idx_bytes({3, 4, 5}, data);
        ps_test::write_bytes(tmp_.filePath("a.idx"), file);
        ps_test::write_gz(tmp_.filePath("a.idx.gz"), file);
        for (const char* name : {"a.idx", "a.idx.gz"}) {
            const at::Tensor t = ps::read_idx(tmp_.filePath(name).toStdString());
            QCOMPARE(t.scalar_type(), at::kByte);
            QCOMPARE(t.sizes().vec(), std::vector<int64_t>({3, 4, 5}));
            QVERIFY(t.is_contiguous());
            const at::Tensor expected =
                at::from_blob(const_cast<char*>(data.constData()), {3, 4, 5}, at::kByte).clone();
            QVERIFY(at::equal(t, expected));
            QCOMPARE(t[2][3][4].item<int>(), 59);
            QCOMPARE(t[1][0][0].item<int>(), 20);
        }
    }

    void reads_one_dimensional_and_empty_files() {
        const QByteArray labels("\x09\x00\x03\x07", 4);
        ps_test::write_gz(tmp_.filePath("labels.gz"), ps_test::idx_bytes({4}, labels));
        const at::Tensor t = ps::read_idx(tmp_.filePath("labels.gz").toStdString());
        QCOMPARE(t.sizes().vec(), std::vector<int64_t>({4}));
        QCOMPARE(t[0].item<int>(), 9);
        QCOMPARE(t[3].item<int>(), 7);

        // A zero dimension: no data, an empty tensor of the declared shape (other dims may be huge).
        ps_test::write_bytes(tmp_.filePath("empty.idx"), ps_test::idx_bytes({0, 28, 28}, {}));
        QCOMPARE(ps::read_idx(tmp_.filePath("empty.idx").toStdString()).sizes().vec(), std::vector<int64_t>({0, 28, 28}));
        ps_test::write_gz(tmp_.filePath("empty2.gz"), ps_test::idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0}, {}));
        QCOMPARE(ps::read_idx(tmp_.filePath("empty2.gz").toStdString()).numel(), 0);
    }

    void tensor_owns_its_memory() {
        ps_test::write_bytes(tmp_.filePath("own.idx"), ps_test::idx_bytes({2, 2}, QByteArray("\x01\x02\x03\x04", 4)));
        at::Tensor t = ps::read_idx(tmp_.filePath("own.idx").toStdString());
        QVERIFY(QFile::remove(tmp_.filePath("own.idx")));
        t.add_(1);  // writable, and outlives the file
        QCOMPARE(t.sum().item<int>(), 14);
    }

    void concatenated_gzip_members_are_read_in_turn() {
        const QByteArray file = ps_test::idx_bytes({2, 3}, ps_test::counting_bytes(6));
        const QString path = tmp_.filePath("members.gz");
        ps_test::write_gz(path, file.left(7));
        ps_test::write_gz(path, file.mid(7), "ab");
        const at::Tensor t = ps::read_idx(path.toStdString());
        QCOMPARE(t.sizes().vec(), std::vector<int64_t>({2, 3}));
        QCOMPARE(t[1][2].item<int>(), 5);
    }

    void missing_and_non_files() {
        expect_error_at(tmp_.filePath("nope.idx.gz"), "cannot open");
        expect_error_at(tmp_.path(), "is a folder");
        expect_error("empty_file.idx", {}, "empty file");
        expect_error("empty_stream.gz", {}, "no data");
    }

    void bad_headers() {
        expect_error("short.idx", QByteArray("\0\0\x08", 3), "truncated header");
        expect_error("magic.idx", ps_test::idx_bytes({1}, "x").replace(0, 1, "\x01"), "bad magic bytes 01 00 08 01");
        expect_error("magic.gz", QByteArray("P5\n28 28\n255\n") + QByteArray(784, '\0'), "bad magic");
        expect_error("type.idx", ps_test::idx_bytes({2}, QByteArray(8, '\0'), 0x0D), "unsupported IDX type byte 0x0d");
        expect_error("ndim0.idx", QByteArray("\0\0\x08\0", 4), "0 dimensions");
        expect_error("dims.gz", ps_test::idx_bytes({60000, 28, 28}, {}).left(10), "truncated header");

        // gzip data under a name without .gz: refused, with a hint
        const QString gz = tmp_.filePath("plain.gz");
        ps_test::write_gz(gz, ps_test::idx_bytes({1}, "x"));
        const QString renamed = tmp_.filePath("plain.idx");
        QVERIFY(QFile::copy(gz, renamed));
        expect_error_at(renamed, "needs a name ending in .gz");
    }

    void data_size_must_match_dimensions() {
        const QByteArray short_data = ps_test::idx_bytes({3, 4, 5}, ps_test::counting_bytes(59));
        const QByteArray long_data = ps_test::idx_bytes({3, 4, 5}, ps_test::counting_bytes(61));
        expect_error("short.idx3", short_data, "expected 60 bytes of data for dimensions 3x4x5, got 59");
        expect_error("short.idx3.gz", short_data, "expected 60 bytes of data for dimensions 3x4x5, got 59");
        expect_error("long.idx3", long_data, "expected 60 bytes of data for dimensions 3x4x5, got 61");
        expect_error("long.idx3.gz", long_data, "expected 60 bytes of data for dimensions 3x4x5, got 61");
        // much more data than declared: all of it is counted, none of it kept
        expect_error("bomb.gz", ps_test::idx_bytes({1, 1}, QByteArray(8 << 20, '\0')),
                     "expected 1 bytes of data for dimensions 1x1, got 8388608");
    }

    void hostile_dimensions_are_checked_before_allocating() {
        const QByteArray ten = ps_test::counting_bytes(10);
        // 2^32 - 1 bytes declared, 10 present: refused from the file length / as data arrives
        expect_error("huge.idx", ps_test::idx_bytes({0xFFFFFFFFu}, ten), "expected 4294967295 bytes of data");
        expect_error("huge.gz", ps_test::idx_bytes({0xFFFFFFFFu}, ten), "got 10");
        // (2^32 - 1)^3 overflows 64 bits; (2^32 - 1)^2 does not but passes 2^63; just under 2^63
        // is refused by the size of the data
        expect_error("overflow.idx", ps_test::idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, ten),
                     "dimensions 4294967295x4294967295x4294967295 describe more than 2^63 bytes");
        expect_error("overflow.gz", ps_test::idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, ten), "more than 2^63");
        expect_error("square.gz", ps_test::idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu}, ten), "more than 2^63");
        expect_error("under.idx", ps_test::idx_bytes({0xFFFFFFFFu, 0x7FFFFFFFu}, ten),
                     "expected 9223372030412324865 bytes of data for dimensions 4294967295x2147483647, got 10");
        expect_error("under.gz", ps_test::idx_bytes({0xFFFFFFFFu, 0x7FFFFFFFu}, ten),
                     "expected 9223372030412324865 bytes of data for dimensions 4294967295x2147483647, got 10");
        // 255 dimensions of 256: far past 2^63
        expect_error("many.idx", ps_test::idx_bytes(std::vector<uint32_t>(255, 256), ten),
                     "dimensions 256x256x256x256x256x256x256x256x... (255 in all) describe more than 2^63");
    }

    void corrupt_gzip_is_reported() {
        const QByteArray file = ps_test::idx_bytes({50, 50}, ps_test::counting_bytes(2500));
        const QString good = tmp_.filePath("good.gz");
        ps_test::write_gz(good, file);
        const QByteArray gz = ps_test::read_bytes(good);
        QVERIFY(gz.size() > 40);

        const QString truncated = tmp_.filePath("truncated.gz");
        ps_test::write_bytes(truncated, gz.left(gz.size() / 2));
        expect_error_at(truncated, "truncated gzip data");
        const QString no_trailer = tmp_.filePath("no_trailer.gz");
        ps_test::write_bytes(no_trailer, gz.left(gz.size() - 4));
        expect_error_at(no_trailer, "truncated gzip data");

        QByteArray flipped = gz;
        flipped[gz.size() - 6] = static_cast<char>(flipped[gz.size() - 6] ^ 0x5a);  // inside the CRC
        const QString bad_crc = tmp_.filePath("bad_crc.gz");
        ps_test::write_bytes(bad_crc, flipped);
        expect_error_at(bad_crc, "corrupt gzip data");

        const QString not_gzip = tmp_.filePath("not_gzip.gz");
        ps_test::write_bytes(not_gzip, file);  // a raw IDX file under a .gz name
        expect_error_at(not_gzip, "corrupt gzip data");

        QByteArray garbage = gz;
        garbage.append("trailing");
        const QString trailing = tmp_.filePath("trailing.gz");
        ps_test::write_bytes(trailing, garbage);
        expect_error_at(trailing, "corrupt gzip data");

        // zero padding after the stream is accepted, as gzip and Python's gzip module do
        const QString padded = tmp_.filePath("padded.gz");
        ps_test::write_bytes(padded, gz + QByteArray(100, '\0'));
        QCOMPARE(ps::read_idx(padded.toStdString()).sizes().vec(), std::vector<int64_t>({50, 50}));
    }
};

QTEST_GUILESS_MAIN(TestIdx)
#include "test_idx.moc"
