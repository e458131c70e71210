// core/model/llava.cpp against transformers' LlavaForConditionalGeneration: logits, every hidden
// state of both towers and greedy generation, in float32 and bfloat16, resident and streamed, in
// both tensor-name layouts; and the one-line errors for broken checkpoints and inputs.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/llava.h"
#include "tests/core/model_parity.h"

namespace {

std::vector<int64_t> row(const at::Tensor& ids, int64_t b, std::optional<int64_t> eos = std::nullopt) {
    at::Tensor r = ids[b].contiguous();
    std::vector<int64_t> out(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
    if (eos) {
        auto it = std::find(out.begin(), out.end(), *eos);
        if (it != out.end()) out.erase(it + 1, out.end());
    }
    return out;
}

// The reference checkpoint copied to `dst` with its model.safetensors rewritten by `edit`, Python
// acting on the dict `t` of tensors (torch imported).
bool tampered_copy(const QString& src, const QString& dst, const QString& edit) {
    QDir().mkpath(dst);
    QFile::copy(src + "/config.json", dst + "/config.json");
    const QString code = "import sys, torch\n"
                         "from safetensors.torch import load_file, save_file\n"
                         "t = load_file(sys.argv[1] + '/model.safetensors')\n" +
                         edit + "\nsave_file(t, sys.argv[2] + '/model.safetensors', metadata={'format': 'pt'})\n";
    const auto run = ps_test::run_program(PS_PYTHON, {"-c", code, src, dst});
    if (run.exit_code != 0) qWarning("%s", run.err.constData());
    return run.exit_code == 0;
}

QString error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ps::Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

class TestLlava : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps_test::Reference plain_;  // the default tiny model, shared by the error cases

private Q_SLOTS:
    void initTestCase() {
        plain_ = ps_test::make_reference(tmp_, "llava", {});
        QVERIFY(!plain_.dir.isEmpty());
    }

    void parity_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<bool>("streaming");
        QTest::newRow("float32, 4 heads, 4 kv heads") << "llava" << "float32" << QStringList{"--kv-heads", "4"} << false;
        QTest::newRow("float32 streamed, 4 heads, 2 kv heads") << "llava" << "float32" << QStringList{} << true;
        QTest::newRow("float32 GQA, 4 heads, 1 kv head") << "llava" << "float32" << QStringList{"--kv-heads", "1"} << false;
        QTest::newRow("float32, 3 heads of 12, 3 layers")
            << "llava" << "float32" << QStringList{"--heads", "3", "--hidden", "36", "--layers", "3", "--kv-heads", "3"} << false;
        QTest::newRow("float32 module layout") << "llava_new" << "float32" << QStringList{} << false;
        QTest::newRow("float32 module layout streamed") << "llava_new" << "float32" << QStringList{} << true;
        QTest::newRow("float32 tied embeddings") << "llava" << "float32" << QStringList{"--tie"} << false;
        QTest::newRow("float32 linear rope x2") << "llava" << "float32" << QStringList{"--rope-linear", "2.0"} << false;
        QTest::newRow("float32 full features of the last layer")
            << "llava" << "float32" << QStringList{"--select", "full", "--feature-layer", "-1"} << false;
        QTest::newRow("bfloat16") << "llava" << "bfloat16" << QStringList{} << false;
        QTest::newRow("bfloat16 module layout streamed") << "llava_new" << "bfloat16" << QStringList{} << true;
    }

    void parity() {
        QFETCH(QString, family);
        QFETCH(QString, dtype);
        QFETCH(QStringList, args);
        QFETCH(bool, streaming);
        const auto ref = ps_test::make_reference(tmp_, family, QStringList{"--dtype", dtype} + args);
        QVERIFY(!ref.dir.isEmpty());
        ps::LoadOptions opt;
        opt.dtype = dtype.toStdString();
        opt.streaming = streaming;
        auto model = ps::Vlm::load(ref.dir.toStdString(), opt);
        QCOMPARE(model->towers().size(), size_t(2));
        const bool reduced = dtype != "float32";
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        ps::CaptureOptions cap;
        cap.hidden_states = true;
        const ps::VlmOutputs out = model->forward(in, cap);

        PS_COMPARE_TENSOR(out.logits, ref["logits"], std::string("logits"), reduced, 1e-4, 2e-2);
        auto measure = [](const std::pair<double, double>& d) { return QString("%1 (rel %2)").arg(d.first, 0, 'g', 3).arg(d.second, 0, 'g', 3); };
        QString report = "logits " + measure(ps_test::diff(out.logits, ref["logits"]));
        const char* names[] = {"vision", "language"};
        for (int t = 0; t < 2; ++t) {
            QCOMPARE(out.hidden_states[t].size(), size_t(model->towers()[t].num_blocks + 1));
            std::pair<double, double> worst{0, 0};
            for (size_t i = 0; i < out.hidden_states[t].size(); ++i) {
                const std::string key = std::string(names[t]) + ".hidden." + std::to_string(i);
                PS_COMPARE_TENSOR(out.hidden_states[t][i], ref[key], key, reduced, 1e-4, 2e-2);
                const auto d = ps_test::diff(out.hidden_states[t][i], ref[key]);
                worst = {std::max(worst.first, d.first), std::max(worst.second, d.second)};
            }
            report += QString(", %1 hidden x%2 %3").arg(names[t]).arg(out.hidden_states[t].size()).arg(measure(worst));
        }

        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        QVERIFY(causal);
        const at::Tensor& ids = ref["generate.ids"];
        const at::Tensor& stopped = ref["generate.eos_ids"];
        const int64_t eos = ref["generate.eos"].item<int64_t>();
        const auto plain = causal->generate_batch(in, static_cast<int>(ids.size(1)), std::nullopt);
        const auto with_eos = causal->generate_batch(in, static_cast<int>(ids.size(1)), eos);
        ps::VlmInputs first;
        first.pixel_values = in.pixel_values.slice(0, 0, 1);
        first.input_ids = in.input_ids.slice(0, 0, 1);
        const auto single = causal->generate(first, static_cast<int>(ids.size(1)), std::nullopt);
        bool same = single == row(ref["generate.single"], 0);
        for (int64_t b = 0; b < ids.size(0); ++b)
            same = same && plain[b] == row(ids, b) && with_eos[b] == row(stopped, b, eos);
        qInfo("%s: max abs diff %s; generate ids %s", QTest::currentDataTag(), qPrintable(report),
              same ? "identical" : "DIFFERENT");
        if (!reduced) QVERIFY2(same, "generated ids differ from transformers");
    }

    void missing_tensor() {
        const QString dir = tmp_.filePath("missing");
        QVERIFY(tampered_copy(plain_.dir, dir, "del t['language_model.model.layers.1.mlp.up_proj.weight']"));
        auto model = ps::Vlm::load(dir.toStdString());
        const QString e = error_of([&] { model->forward(ps_test::reference_inputs(plain_)); });
        QVERIFY2(e.contains(dir) && e.contains("language_model.model.layers.1.mlp.up_proj.weight") && !e.contains('\n'),
                 qPrintable(e));
    }

    void wrong_shape() {
        const QString dir = tmp_.filePath("shape");
        QVERIFY(tampered_copy(plain_.dir, dir,
                              "k = 'language_model.model.layers.0.self_attn.k_proj.weight'\nt[k] = t[k][:8].contiguous()"));
        auto model = ps::Vlm::load(dir.toStdString());
        const QString e = error_of([&] { model->forward(ps_test::reference_inputs(plain_)); });
        QVERIFY2(e.contains(dir) && e.contains("'language_model.model.layers.0.self_attn.k_proj.weight' has shape [8, 32]") &&
                     e.contains("[16, 32]") && !e.contains('\n'),
                 qPrintable(e));
    }

    void image_token_count_mismatch() {
        auto model = ps::Vlm::load(plain_.dir.toStdString());
        ps::VlmInputs in = ps_test::reference_inputs(plain_);
        in.input_ids = in.input_ids.clone();
        in.input_ids.index_put_({0, 5}, 7);  // one image token of row 0 becomes text
        const QString e = error_of([&] { model->forward(in); });
        QVERIFY2(e.contains("49 image tokens") && e.contains("the 2 image(s) give 50 features") && !e.contains('\n'), qPrintable(e));
        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        QVERIFY(!error_of([&] { causal->generate_batch(in, 2, std::nullopt); }).isEmpty());
        in.pixel_values = at::Tensor();  // image tokens but no image
        QVERIFY(error_of([&] { model->forward(in); }).contains("but the 0 image(s) give 0 features"));
    }

    void unsupported_rope_type() {
        const QString dir = tmp_.filePath("rope");
        QVERIFY(tampered_copy(plain_.dir, dir, ""));
        QFile f(dir + "/config.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        auto config = nlohmann::json::parse(f.readAll().toStdString());
        f.close();
        config["text_config"]["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
        ps_test::write_bytes(dir + "/config.json", QByteArray::fromStdString(config.dump()));
        const QString e = error_of([&] { ps::Vlm::load(dir.toStdString()); });
        QVERIFY2(e.contains(dir + "/config.json") && e.contains("rope_scaling type \"yarn\" is not supported"), qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestLlava)
#include "test_llava.moc"
