// core/io/gguf.cpp and gguf_checkpoint.cpp against the `gguf` package (metadata, dequantisation)
// and transformers' GGUF loader (names, Q/K permutation, config), on files written by
// tests/python/gguf_reference.py; malformed files refused with one line naming them.
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <set>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/gguf.h"
#include "core/io/gguf_checkpoint.h"
#include "core/io/tensor_view.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

namespace {

// GGUF bytes written field by field, for the malformed cases.
struct Writer {
    std::string b;
    Writer& u32(uint32_t v) { return raw(&v, 4); }
    Writer& u64(uint64_t v) { return raw(&v, 8); }
    Writer& str(const std::string& s) {
        u64(s.size());
        b += s;
        return *this;
    }
    Writer& raw(const void* p, size_t n) {
        b.append(static_cast<const char*>(p), n);
        return *this;
    }
    Writer& pad(size_t align) {
        b.resize((b.size() + align - 1) / align * align, '\0');
        return *this;
    }
};

// A GGUF v3 file of one F32 tensor "w" of `n` elements at `offset`, type `type`, one string key.
std::string one_tensor(uint32_t type = 0, uint64_t n = 32, uint64_t offset = 0, uint64_t data_bytes = 128) {
    Writer w;
    w.raw("GGUF", 4).u32(3).u64(1).u64(1);
    w.str("general.architecture").u32(8).str("llama");
    w.str("w").u32(1).u64(n).u32(type).u64(offset);
    w.pad(32);
    w.b.append(data_bytes, '\0');
    return w.b;
}

QString parse_error(const std::string& bytes) {
    return ps_test::error_of([&] { ps::parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.gguf"); });
}

}  // namespace

class TestGguf : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString ref_;

    bool reference(const char* mode, const QStringList& extra = {}) {
        const auto r = ps_test::run_python("gguf_reference.py", QStringList{mode} + extra + QStringList{ref_}, 600000);
        if (r.exit_code != 0) qWarning("%s", r.err.constData());
        return r.exit_code == 0;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        ref_ = tmp_.filePath("ref");
    }

    void metadata_of_every_value_type() {
        QVERIFY(reference("types"));
        const auto f = ps::GgufFile::open((ref_ + "/types.gguf").toStdString());
        QCOMPARE(f->header().version, 3u);
        const nlohmann::json expect = nlohmann::json::parse(ps_test::read_bytes(ref_ + "/types.json").toStdString());
        for (const auto& [key, value] : expect.items()) {
            QVERIFY2(f->metadata().contains(key), key.c_str());
            QVERIFY2(f->metadata()[key] == value, qPrintable(QString::fromStdString(key + ": " + f->metadata()[key].dump() +
                                                                                    ", gguf wrote " + value.dump())));
        }
    }

    void dequantises_as_the_gguf_package() {
        const auto f = ps::GgufFile::open((ref_ + "/types.gguf").toStdString());
        const ps::NamedTensors expect = ps::load_safetensors((ref_ + "/types.safetensors").toStdString());
        QCOMPARE(expect.size(), size_t(6));
        for (const auto& [name, ref] : expect) {
            const ps::GgufTensorInfo* t = f->find(name);
            QVERIFY2(t, name.c_str());
            QCOMPARE(t->shape, (std::vector<int64_t>{3, 64}));
            QCOMPARE(ps::ggml_type_name(t->type), name);
            std::vector<float> got = f->dequantized(*t);
            const at::Tensor ours = at::from_blob(got.data(), {3, 64}, at::kFloat);
            const double diff = ps_test::max_abs_diff(ours, ref);
            const double scale = ref.abs().max().item<double>();
            // Bit for bit for the float types; the quantised ones within float32 rounding.
            const bool exact = name == "F32" || name == "F16" || name == "BF16";
            QVERIFY2(exact ? diff == 0 : diff <= 1e-6 * scale,
                     qPrintable(QString("%1: max |diff| %2 (scale %3)").arg(name.c_str()).arg(diff).arg(scale)));
        }
    }

    void tiny_llama_loads_as_transformers_loads_it() {
        QVERIFY(reference("tiny-llama"));
        const ps::Checkpoint ckpt = ps::Checkpoint::open((ref_ + "/tiny.gguf").toStdString());
        QVERIFY(ckpt.is_gguf());
        QCOMPARE(ckpt.model_type(), std::string("llama"));
        const auto& c = ckpt.config();
        QCOMPARE(c.at("hidden_size").get<int64_t>(), int64_t(64));
        QCOMPARE(c.at("num_key_value_heads").get<int64_t>(), int64_t(2));
        QCOMPARE(c.at("tie_word_embeddings").get<bool>(), false);
        std::map<std::string, std::string> type_of;  // Hugging Face name → the file's ggml type
        const auto file = ps::GgufFile::open((ref_ + "/tiny.gguf").toStdString());
        for (const auto& t : file->header().tensors) type_of[ps::gguf_llama_hf_name(t.name)] = ps::ggml_type_name(t.type);
        const ps::NamedTensors expect = ps::load_safetensors((ref_ + "/tiny.safetensors").toStdString());
        QCOMPARE(ckpt.names().size(), expect.size());
        std::set<std::string> types;
        for (const auto& [name, ref] : expect) {
            QVERIFY2(ckpt.find(name), name.c_str());
            const at::Tensor ours = ps::tensor_view(ckpt, name);
            QCOMPARE(ours.sizes(), ref.sizes());
            // Bit for bit for the float types; the quantised ones within float32 rounding.
            const std::string type = type_of.at(name);
            types.insert(type);
            const double diff = ps_test::max_abs_diff(ours, ref);
            const bool exact = type == "F32" || type == "F16" || type == "BF16";
            QVERIFY2(exact ? diff == 0 : diff <= 1e-6 * ref.abs().max().item<double>(),
                     qPrintable(QString::fromStdString(name + " (" + type + ")") + QString(": max |diff| %1").arg(diff)));
        }
        QCOMPARE(types.size(), size_t(6));  // every supported type crossed the loader
    }

    void malformed_files_refused() {
        QCOMPARE(parse_error(one_tensor()), QString());  // the well-formed base case
        QCOMPARE(parse_error("GGML"), QString("x.gguf: not a GGUF file (no \"GGUF\" magic)"));
        std::string v1 = one_tensor();
        v1[4] = 1;
        QCOMPARE(parse_error(v1), QString("x.gguf: GGUF version 1 is not supported (2 and 3 are)"));
        const std::string good = one_tensor();
        QCOMPARE(parse_error(good.substr(0, good.size() - 1)),
                 QString("x.gguf: tensor 'w': 128 bytes at offset 0 of the data section lie outside the file (127 data bytes; truncated?)"));
        QCOMPARE(parse_error(good.substr(0, 30)), QString("x.gguf: 1 metadata entries cannot fit in a file of 30 bytes"));
        QCOMPARE(parse_error(good.substr(0, 60)), QString("x.gguf: truncated: string value at byte 56 needs 8 bytes, 4 left"));
        QCOMPARE(parse_error(one_tensor(99)), QString("x.gguf: tensor 'w': unknown tensor type 99"));
        QCOMPARE(parse_error(one_tensor(0, 32, 16)), QString("x.gguf: tensor 'w': offset 16 is not a multiple of the alignment 32"));
        QCOMPARE(parse_error(one_tensor(8, 33)), QString("x.gguf: tensor 'w': rows of 33 elements are not whole Q8_0 blocks of 32"));
        QCOMPARE(parse_error(one_tensor(0, uint64_t(1) << 62)), QString("x.gguf: tensor 'w': shape overflows"));
        Writer absurd;
        absurd.raw("GGUF", 4).u32(3).u64(0).u64(uint64_t(1) << 60);
        QCOMPARE(parse_error(absurd.b), QString("x.gguf: 1152921504606846976 metadata entries cannot fit in a file of 24 bytes"));
        Writer array;
        array.raw("GGUF", 4).u32(3).u64(0).u64(1).str("k").u32(9).u32(8).u64(uint64_t(1) << 40);
        QCOMPARE(parse_error(array.b), QString("x.gguf: metadata 'k': array of 1099511627776 items cannot fit in the 0 bytes left"));
        Writer long_name;
        long_name.raw("GGUF", 4).u32(3).u64(1).u64(0).str("blk.1." + std::string(100000, 'x'));
        QCOMPARE(parse_error(long_name.b), QString("x.gguf: tensor name of 100006 bytes (at most 63)"));
        Writer not_utf8;
        not_utf8.raw("GGUF", 4).u32(3).u64(0).u64(1).str("k\xff").u32(8).str("v");
        QCOMPARE(parse_error(not_utf8.b), QString("x.gguf: metadata key at byte 24 is not valid UTF-8"));
        Writer value;
        value.raw("GGUF", 4).u32(3).u64(0).u64(1).str("k").u32(13);
        QCOMPARE(parse_error(value.b), QString("x.gguf: metadata 'k': unknown value type 13"));
        Writer overlap;
        overlap.raw("GGUF", 4).u32(3).u64(2).u64(0);
        overlap.str("a").u32(1).u64(32).u32(0).u64(0).str("b").u32(1).u64(32).u32(0).u64(128).pad(32);
        overlap.b.append(256, '\0');
        QCOMPARE(parse_error(overlap.b), QString());
        Writer overlapping = overlap;
        overlapping.b.replace(overlapping.b.find('b') + 1 + 4 + 8 + 4, 8, std::string("\x40\0\0\0\0\0\0\0", 8));
        QCOMPARE(parse_error(overlapping.b), QString("x.gguf: tensors 'a' and 'b' overlap in the data section"));

        // Through the file API: the path names the file; a type without a dequantiser is refused there.
        const QString path = tmp_.filePath("q4k.gguf");
        ps_test::write_bytes(path, QByteArray::fromStdString(one_tensor(12, 256, 0, 144)));
        const auto f = ps::GgufFile::open(path.toStdString());
        QCOMPARE(ps_test::error_of([&] { f->dequantized(f->header().tensors[0]); }),
                 path + ": tensor 'w': tensor type Q4_K is not supported (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 are)");
        QCOMPARE(ps_test::error_of([&] { ps::Checkpoint::open(path.toStdString()); }),
                 path + ": metadata 'llama.embedding_length' is missing");
        const QString other = ref_ + "/types.gguf";
        QCOMPARE(ps_test::error_of([&] { ps::Checkpoint::open(other.toStdString()); }),
                 other + ": GGUF architecture \"test\" is not supported (llama is)");
    }

    void llama_names() {
        QCOMPARE(ps::gguf_llama_hf_name("blk.12.attn_q.weight"), std::string("model.layers.12.self_attn.q_proj.weight"));
        QCOMPARE(ps::gguf_llama_hf_name("blk.0.ffn_down.weight"), std::string("model.layers.0.mlp.down_proj.weight"));
        QCOMPARE(ps::gguf_llama_hf_name("output.weight"), std::string("lm_head.weight"));
        QCOMPARE(ps::gguf_llama_hf_name("blk.x.attn_q.weight"), std::string());
        QCOMPARE(ps::gguf_llama_hf_name("rope_freqs.weight"), std::string());
    }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
