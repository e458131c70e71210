// core/io/safetensors_writer.cpp: a file filled piece by piece in any order has the same bytes as
// write_safetensors gives for the same tensors; every misuse (unknown name, wrong size, a tensor
// written twice or never, an existing path) is one line naming the file; an unfinished file is
// removed.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/io/safetensors_writer.h"
#include "tests/test_support.h"

namespace {

ps::TensorInfo spec(const std::string& name, ps::DType dtype, std::vector<int64_t> shape) {
    ps::TensorInfo t;
    t.name = name;
    t.dtype = dtype;
    t.shape = std::move(shape);
    return t;
}

}  // namespace

class TestSafetensorsWriter : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    // Mixed element sizes, so the layout reorders them (8-byte first, then 4, 2, 1).
    std::vector<ps::TensorInfo> specs_ = {spec("b.mask", ps::DType::U8, {3, 5}), spec("a.weight", ps::DType::F32, {4, 3}),
                                          spec("c.half", ps::DType::F16, {7}), spec("d.ids", ps::DType::I64, {2}),
                                          spec("e.empty", ps::DType::F32, {0, 4})};
    std::vector<std::vector<uint8_t>> data_;

    void fill() {
        data_.clear();
        uint8_t next = 1;
        for (const ps::TensorInfo& t : specs_) {
            uint64_t n = ps::dtype_size(t.dtype);
            for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
            std::vector<uint8_t> bytes(n);
            for (uint8_t& b : bytes) b = next += 37;
            data_.push_back(std::move(bytes));
        }
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        fill();
    }

    void same_bytes_as_write_safetensors_in_any_order() {
        const std::map<std::string, std::string> meta{{"format", "pt"}, {"method", "wanda"}};
        std::vector<ps::TensorBytes> all;
        for (size_t i = 0; i < specs_.size(); ++i)
            all.push_back({specs_[i].name, specs_[i].dtype, specs_[i].shape, data_[i].data(), data_[i].size()});
        const QString whole = tmp_.filePath("whole.safetensors");
        ps::write_safetensors(whole.toStdString(), all, meta);

        const QString piecewise = tmp_.filePath("piecewise.safetensors");
        {
            ps::SafetensorsWriter w(piecewise.toStdString(), specs_, meta);
            for (size_t k = specs_.size(); k-- > 0;) {  // reverse of the layout order
                QVERIFY(!w.written(specs_[k].name));
                w.write(specs_[k].name, data_[k].data(), data_[k].size());
                QVERIFY(w.written(specs_[k].name));
            }
            w.finish();
        }
        const QByteArray a = ps_test::read_bytes(whole), b = ps_test::read_bytes(piecewise);
        QVERIFY(!a.isEmpty());
        QCOMPARE(b.size(), a.size());
        QVERIFY(a == b);

        // And it reads back: each tensor's bytes at its place.
        const auto f = ps::SafetensorsFile::open(piecewise.toStdString());
        QCOMPARE(f->metadata().at("method"), std::string("wanda"));
        for (size_t i = 0; i < specs_.size(); ++i) {
            const ps::TensorInfo* t = f->find(specs_[i].name);
            QVERIFY(t);
            QCOMPARE(t->shape, specs_[i].shape);
            QVERIFY(std::equal(data_[i].begin(), data_[i].end(), f->data(*t)));
        }
    }

    void misuse_is_one_line_naming_the_file() {
        const QString path = tmp_.filePath("misuse.safetensors");
        ps::SafetensorsWriter w(path.toStdString(), specs_);
        QVERIFY(ps_test::error_of([&] { w.write("nope", data_[0].data(), data_[0].size()); })
                    .contains("misuse.safetensors: tensor 'nope' is not in the file's header"));
        QVERIFY(ps_test::error_of([&] { w.write("a.weight", data_[1].data(), 5); })
                    .contains("tensor 'a.weight': 5 bytes given, its shape needs 48"));
        w.write("a.weight", data_[1].data(), data_[1].size());
        QVERIFY(ps_test::error_of([&] { w.write("a.weight", data_[1].data(), data_[1].size()); }).contains("written twice"));
        // the first one missing in file order (8-byte elements first)
        QVERIFY(ps_test::error_of([&] { w.finish(); }).contains("tensor 'd.ids' was never written"));
        QVERIFY(ps_test::error_of([&] { ps::SafetensorsWriter again(path.toStdString(), specs_); }).contains("cannot create"));
        QVERIFY(ps_test::error_of([&] {
                    ps::SafetensorsWriter dup(tmp_.filePath("dup.safetensors").toStdString(),
                                              {spec("x", ps::DType::U8, {1}), spec("x", ps::DType::U8, {2})});
                }).contains("duplicate tensor name 'x'"));
        QVERIFY(!QFile::exists(tmp_.filePath("dup.safetensors")));
    }

    void unfinished_file_is_removed() {
        const QString path = tmp_.filePath("unfinished.safetensors");
        {
            ps::SafetensorsWriter w(path.toStdString(), specs_);
            w.write("a.weight", data_[1].data(), data_[1].size());
            QVERIFY(QFile::exists(path));
        }
        QVERIFY(!QFile::exists(path));
    }
};

QTEST_APPLESS_MAIN(TestSafetensorsWriter)
#include "test_safetensors_writer.moc"
