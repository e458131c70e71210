// IDX files written by the tests (tests/core/test_idx.cpp, test_fashion_mnist.cpp): the header
// bytes of the MNIST format, and gzip files written with zlib's gzopen/gzwrite.
#pragma once
#include <QByteArray>
#include <QString>
#include <QTest>

#include <cstdint>
#include <vector>

#include <zlib.h>

namespace ps_test {

// 0 0 <type> <ndim>, the big-endian uint32 dims, then `data`.
inline QByteArray idx_bytes(const std::vector<uint32_t>& dims, const QByteArray& data, uint8_t type = 0x08) {
    QByteArray b;
    b.append('\0').append('\0').append(static_cast<char>(type)).append(static_cast<char>(dims.size()));
    for (uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) b.append(static_cast<char>((d >> shift) & 0xff));
    return b + data;
}

// The bytes 0, 1, 2, ... (mod 251, so that neighbouring rows differ) of length n.
inline QByteArray counting_bytes(int64_t n) {
    QByteArray b(static_cast<qsizetype>(n), '\0');
    for (int64_t i = 0; i < n; ++i) b[static_cast<qsizetype>(i)] = static_cast<char>(i % 251);
    return b;
}

// Writes `bytes` gzip-compressed to `path`; `mode` is gzopen's ("wb", "ab" to add a member).
inline void write_gz(const QString& path, const QByteArray& bytes, const char* mode = "wb") {
    gzFile f = gzopen(path.toLocal8Bit().constData(), mode);
    QVERIFY2(f != nullptr, qPrintable(path));
    const int n = bytes.isEmpty() ? 0 : gzwrite(f, bytes.constData(), static_cast<unsigned>(bytes.size()));
    const int rc = gzclose(f);
    QCOMPARE(n, static_cast<int>(bytes.size()));
    QCOMPARE(rc, Z_OK);
}

}  // namespace ps_test
