// FLOPs accounting against hand counts for two shapes: the default model (ViT 128/512 with 17
// tokens, MiniLM 384/1536) and the LLaVA demo (CLIP 64/256, LLaMA 128 with GQA and a SwiGLU MLP of
// 344), dense and with tokens dropped; a zeroed head or MLP channel leaves the count by exactly its
// share, while unstructured zeros (still multiplied by dense kernels) change nothing.
#include <QTemporaryDir>
#include <QTest>

#include "core/model/demo_checkpoint.h"
#include "core/model/vlm.h"
#include "core/token/flops.h"
#include "tests/test_support.h"

class TestFlops : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // One pre-norm block with N tokens: Linears 2·N·Σ(out·in), attention 2·2·N²·W.
    static double block(double n, double linear_params, double width) { return 2 * n * linear_params + 4 * n * n * width; }

    static bool near(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

private Q_SLOTS:
    void default_model_by_hand() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const double vit = 4 * 128.0 * 128 + 2 * 128.0 * 512, bert = 4 * 384.0 * 384 + 2 * 384.0 * 1536;
        const int64_t text = 12;
        const auto dense = ps::token_counts(*m, {}, 17, text);
        QCOMPARE(dense[0], (std::vector<int64_t>{17, 17, 17, 17}));
        QCOMPARE(dense[1], std::vector<int64_t>(6, text));
        const double want = 4 * block(17, vit, 128) + 6 * block(text, bert, 384);
        const ps::FlopsCount got = ps::block_flops(*m, dense);
        qInfo("default model, 17 patch + 12 text tokens: %.6g FLOPs (linear %.6g, attention %.6g)", got.total(), got.linear,
              got.attention);
        QVERIFY(near(got.total(), want));
        QCOMPARE(got.blocks.size(), size_t(10));

        ps::TokenPruning p;
        p.vision = {{1, 0.5}};
        p.language = {{0, 0.5}};
        const auto pruned = ps::token_counts(*m, p, 17, text);
        QCOMPARE(pruned[0], (std::vector<int64_t>{17, 17, 9, 9}));
        QCOMPARE(pruned[1], (std::vector<int64_t>{12, 7, 7, 7, 7, 7}));  // [CLS] + round(0.5 · 11)
        const double want_pruned = 2 * block(17, vit, 128) + 2 * block(9, vit, 128) + block(12, bert, 384) + 5 * block(7, bert, 384);
        QVERIFY(near(ps::block_flops(*m, pruned).total(), want_pruned));

        // head 0 of vision block 0 zeroed (q, k, v rows and o columns): 4·32·128 weights per token and
        // 32 of the attention width less; an MLP channel: 2·128; random unstructured zeros: nothing
        ps::WeightStore& w = m->weights();
        const std::string b0 = "vision_model.encoder.layer.0.";
        for (const char* l : {"attention.attention.query", "attention.attention.key", "attention.attention.value"}) {
            at::Tensor t = w.get(b0 + l + ".weight").clone();
            t.slice(0, 0, 32).zero_();
            w.set(b0 + l + ".weight", t);
        }
        at::Tensor o = w.get(b0 + "attention.output.dense.weight").clone();
        o.slice(1, 0, 32).zero_();
        w.set(b0 + "attention.output.dense.weight", o);
        at::Tensor fc1 = w.get(b0 + "intermediate.dense.weight").clone();
        fc1[5].zero_();
        w.set(b0 + "intermediate.dense.weight", fc1);
        at::Tensor fc2 = w.get(b0 + "output.dense.weight").clone();
        fc2.select(1, 5).zero_();
        w.set(b0 + "output.dense.weight", fc2);
        const std::string b1 = "vision_model.encoder.layer.1.intermediate.dense.weight";
        w.set(b1, w.get(b1) * (at::rand(w.get(b1).sizes()) > 0.5));
        const double after = ps::block_flops(*m, dense).total();
        QVERIFY(near(want - after, 2 * 17 * (4 * 32.0 * 128 + 2 * 128.0) + 4 * 17.0 * 17 * 32));
    }

    void llava_demo_by_hand() {
        QVERIFY(tmp_.isValid());
        const std::string dir = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(dir, 1);
        auto m = ps::Vlm::load(dir);
        QCOMPARE(m->towers()[0].num_blocks, 3);  // vision_feature_layer -2 of 4
        const double clip = 4 * 64.0 * 64 + 2 * 64.0 * 256;
        const double llama = 2 * 128.0 * 128 + 2 * 64.0 * 128 + 3 * 344.0 * 128;  // q, o; k, v (2 kv heads of 32); gate, up, down
        const auto dense = ps::token_counts(*m, {}, 17, 24, 16);
        const double want = 3 * block(17, clip, 64) + 6 * block(24, llama, 128);
        QVERIFY(near(ps::block_flops(*m, dense).total(), want));
        ps::TokenPruning p;
        p.metric = ps::TokenMetric::Text;
        p.language = {{1, 0.5}};
        const auto pruned = ps::token_counts(*m, p, 17, 24, 16);
        QCOMPARE(pruned[1], (std::vector<int64_t>{24, 24, 16, 16, 16, 16}));
        const double want_pruned = 3 * block(17, clip, 64) + 2 * block(24, llama, 128) + 4 * block(16, llama, 128);
        const double got = ps::block_flops(*m, pruned).total();
        qInfo("LLaVA demo, 24 tokens (16 image): %.6g FLOPs dense, %.6g with half the image tokens dropped after layer 1",
              want, got);
        QVERIFY(near(got, want_pruned));
        QVERIFY(ps_test::error_of([&] { ps::block_flops(*m, {{17}}); }).contains("tower"));
    }
};

QTEST_GUILESS_MAIN(TestFlops)
#include "test_flops.moc"
