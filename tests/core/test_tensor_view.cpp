// core/io/tensor_view.cpp: zero-copy views, and interop with the reference safetensors and
// transformers packages in both directions.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/tensor_view.h"
#include "tests/test_support.h"

namespace {

// Same formula as expected() in tests/python/safetensors_fixture.py.
at::Tensor expected(at::ScalarType dt, const std::vector<int64_t>& shape, int64_t salt) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    at::Tensor v = (at::arange(n, at::kLong) * 37 + salt).remainder(251) - 125;
    if (dt == at::kBool) return (v.remainder(2) == 0).reshape(shape);
    if (dt == at::kByte) return (v + 125).to(at::kByte).reshape(shape);
    if (at::isFloatingType(dt)) return (v.to(at::kDouble) / 8.0).to(dt).reshape(shape);
    return v.to(dt).reshape(shape);
}

QByteArray tensor_bytes(const at::Tensor& t) {
    at::Tensor c = t.contiguous();
    return QByteArray(static_cast<const char*>(c.data_ptr()), static_cast<qsizetype>(c.nbytes()));
}

}  // namespace

class TestTensorView : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void reads_python_files_bit_identical() {
        const QString dir = tmp_.filePath("from_python");
        QVERIFY(QDir().mkpath(dir));
        auto r = ps_test::run_python("safetensors_fixture.py", {"write", dir});
        QVERIFY2(r.exit_code == 0, r.err.constData());

        auto file = ps::SafetensorsFile::open((dir + "/fixture.safetensors").toStdString());
        QCOMPARE(file->metadata().at("origin"), std::string("python"));
        const auto manifest = nlohmann::json::parse(ps_test::read_bytes(dir + "/manifest.json").toStdString());
        QCOMPARE(file->tensors().size(), manifest.size());
        QVERIFY(manifest.size() >= 50);
        for (auto it = manifest.begin(); it != manifest.end(); ++it) {
            const ps::TensorInfo* info = file->find(it.key());
            QVERIFY2(info, it.key().c_str());
            at::Tensor t = ps::tensor_view(file, *info);
            QCOMPARE(std::string(ps::dtype_name(ps::from_scalar_type(t.scalar_type()))),
                     (*it)["dtype"].get<std::string>());
            QCOMPARE(t.sizes().vec(), (*it)["shape"].get<std::vector<int64_t>>());
            QCOMPARE(tensor_bytes(t), ps_test::read_bytes(dir + "/" + QString::fromStdString(it.key()) + ".bin"));
        }
    }

    void python_reads_cpp_files() {
        const std::vector<at::ScalarType> types{at::kDouble, at::kFloat, at::kHalf,  at::kBFloat16, at::kLong,
                                                at::kInt,    at::kShort, at::kChar, at::kByte,     at::kBool};
        const std::vector<std::vector<int64_t>> shapes{{4, 6}, {5}, {2, 1, 3}, {}, {0, 3}};
        ps::NamedTensors tensors;
        std::map<std::string, std::string> meta;
        int salt = 0;
        for (at::ScalarType dt : types)
            for (const auto& shape : shapes) {
                const std::string name = std::string(ps::dtype_name(ps::from_scalar_type(dt))) + "." + std::to_string(salt);
                tensors.emplace_back(name, expected(dt, shape, salt++));
                meta[name] = nlohmann::json(shape).dump();
            }
        const QString good = tmp_.filePath("from_cpp.safetensors");
        ps::save_safetensors(good.toStdString(), tensors, meta);
        auto r = ps_test::run_python("safetensors_fixture.py", {"check", good});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        QCOMPARE(nlohmann::json::parse(r.out.toStdString())["tensors"].get<size_t>(), tensors.size());

        // The check must be able to fail: one changed element is reported.
        tensors[7].second = tensors[7].second.clone();
        tensors[7].second.view(-1)[0] += 1;
        const QString bad = tmp_.filePath("from_cpp_bad.safetensors");
        ps::save_safetensors(bad.toStdString(), tensors, meta);
        r = ps_test::run_python("safetensors_fixture.py", {"check", bad});
        QCOMPARE(r.exit_code, 1);
        QVERIFY(r.err.contains(tensors[7].first.c_str()));
    }

    void transformers_loads_cpp_rewritten_checkpoint() {
        const QString src = tmp_.filePath("models");
        QVERIFY(QDir().mkpath(src));
        auto r = ps_test::run_python("tiny_models.py", {src, "clip"});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const ps::Checkpoint ckpt = ps::Checkpoint::open((src + "/clip").toStdString());
        ps::NamedTensors all;
        for (const std::string& name : ckpt.names()) all.emplace_back(name, ps::tensor_view(ckpt, name));
        const QString dst = tmp_.filePath("clip_rewritten");
        QVERIFY(QDir().mkpath(dst));
        QVERIFY(QFile::copy(src + "/clip/config.json", dst + "/config.json"));
        ps::save_safetensors((dst + "/model.safetensors").toStdString(), all, {{"format", "pt"}});
        r = ps_test::run_python("hf_check.py", {"same", src + "/clip", dst});
        QVERIFY2(r.exit_code == 0, (r.out + r.err).constData());
    }

    void views_alias_the_mapping_and_outlive_it() {
        const QString path = tmp_.filePath("alias.safetensors");
        ps::save_safetensors(path.toStdString(), {{"w", at::arange(12, at::kFloat).reshape({3, 4})}});
        at::Tensor view;
        {
            auto file = ps::SafetensorsFile::open(path.toStdString());
            view = ps::tensor_view(file, file->tensors()[0]);
            QCOMPARE(view.data_ptr(), static_cast<void*>(file->data(file->tensors()[0])));
        }  // the file object is gone; the view keeps the mapping alive
        QVERIFY(at::equal(view, at::arange(12, at::kFloat).reshape({3, 4})));
        view.fill_(-1.0f);  // private mapping: never reaches the file
        auto again = ps::SafetensorsFile::open(path.toStdString());
        QVERIFY(at::equal(ps::tensor_view(again, again->tensors()[0]), at::arange(12, at::kFloat).reshape({3, 4})));
    }

    void misaligned_tensor_is_copied_correctly() {
        // A header of odd length puts the F32 payload at an address that is not 4-byte aligned.
        const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
        QVERIFY(header.size() % 4 != 0);
        const float values[3] = {1.5f, -2.25f, 3.0f};
        QByteArray bytes(8, '\0');
        bytes[0] = static_cast<char>(header.size());
        bytes += QByteArray(header.data(), static_cast<qsizetype>(header.size()));
        bytes += QByteArray(reinterpret_cast<const char*>(values), sizeof values);
        const QString path = tmp_.filePath("odd.safetensors");
        ps_test::write_bytes(path, bytes);
        auto file = ps::SafetensorsFile::open(path.toStdString());
        at::Tensor t = ps::tensor_view(file, file->tensors()[0]);
        QCOMPARE(reinterpret_cast<uintptr_t>(t.data_ptr()) % 4, uintptr_t(0));
        QVERIFY(at::equal(t, at::tensor({1.5f, -2.25f, 3.0f})));
    }

    void refuses_unstorable_dtype() {
        const QString path = tmp_.filePath("complex.safetensors");
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::save_safetensors(path.toStdString(), {{"c", at::zeros({2}, at::kComplexFloat)}}));
        QVERIFY(!QFile::exists(path));
    }
};

QTEST_GUILESS_MAIN(TestTensorView)
#include "test_tensor_view.moc"
