// core/model/clip.cpp against transformers' CLIPModel: embeddings, logits and every hidden state
// of both towers, in float32, bfloat16 and float16, resident and
// streamed, and the attention probabilities captured at chosen blocks.
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "tests/core/model_parity.h"

class TestClip : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void parity_data() {
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QStringList>("sizes");
        QTest::addColumn<bool>("streaming");
        QTest::newRow("float32") << "float32" << QStringList{} << false;
        QTest::newRow("float32 streamed") << "float32" << QStringList{} << true;
        QTest::newRow("float32, 3 heads of 12, 3 layers") << "float32" << QStringList{"--heads", "3", "--hidden", "36", "--layers", "3"} << false;
        QTest::newRow("bfloat16") << "bfloat16" << QStringList{} << false;
        QTest::newRow("float16") << "float16" << QStringList{} << false;
    }

    void parity() {
        QFETCH(QString, dtype);
        QFETCH(QStringList, sizes);
        QFETCH(bool, streaming);
        ps_test::dual_encoder_parity(tmp_, "clip", dtype, sizes, streaming);
    }

    void attention_probabilities() {
        const auto ref = ps_test::make_reference(tmp_, "clip", {"--attentions"});
        QVERIFY(!ref.dir.isEmpty());
        auto model = ps::Vlm::load(ref.dir.toStdString());
        ps::CaptureOptions cap;
        cap.attentions = {{0, 1}, {1, 0}, {1, 1}};
        const ps::VlmOutputs with = model->forward(ps_test::reference_inputs(ref), cap);
        QCOMPARE(with.attentions.size(), size_t(3));
        const char* names[] = {"vision", "text"};
        for (const auto& [where, probs] : with.attentions) {
            const std::string key = std::string(names[where.first]) + ".attn." + std::to_string(where.second);
            PS_COMPARE_TENSOR(probs, ref[key], key, false, 1e-5, 0.0);
        }
        // Eager attention at the scored blocks changes nothing downstream.
        const ps::VlmOutputs without = model->forward(ps_test::reference_inputs(ref));
        PS_COMPARE_TENSOR(with.logits_per_image, without.logits_per_image, std::string("logits"), false, 1e-5, 0.0);
    }

    void wrong_shaped_tensor() {
        const auto ref = ps_test::make_reference(tmp_, "clip", {});
        QVERIFY(!ref.dir.isEmpty());
        const std::string dir = ref.dir.toStdString(), bad = "vision_model.encoder.layers.1.mlp.fc1.weight";
        ps::NamedTensors all;
        {
            const auto ckpt = ps::Checkpoint::open(dir);
            for (const auto& name : ckpt.names()) {
                at::Tensor t = ps::tensor_view(ckpt, name).clone();
                all.emplace_back(name, name == bad ? t.t().contiguous() : t);
            }
        }
        ps::save_safetensors(dir + "/model.safetensors", all);
        auto model = ps::Vlm::load(dir);
        try {
            model->forward(ps_test::reference_inputs(ref));
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).contains("tensor '" + QString::fromStdString(bad) + "' has shape [32, 37] but the config implies [37, 32]"), e.what());
        }
    }

    void text_longer_than_context() {
        const auto ref = ps_test::make_reference(tmp_, "clip", {});
        auto model = ps::Vlm::load(ref.dir.toStdString());
        ps::VlmInputs in = ps_test::reference_inputs(ref);
        in.input_ids = at::ones({1, 40}, at::kLong);  // the tiny model's context is 16
        in.attention_mask = at::Tensor();
        try {
            model->forward(in);
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).contains("40 tokens, longer than the model's context of 16"), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestClip)
#include "test_clip.moc"
