// core/model/llama.cpp pieces on their own: config defaults and errors, the attention mask, the
// eager path against SDPA, and the KV-cache path against the full-sequence path. Parity with
// transformers runs through LLaVA's decoder in test_llava.
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "core/model/llama.h"
#include "tests/core/model_parity.h"

namespace {

ps::LlamaConfig config_of(const nlohmann::json& j) { return ps::llama_config(ps::ConfigReader(j, "x/config.json"), "x/config.json"); }

QString config_error(const nlohmann::json& j) {
    try {
        config_of(j);
    } catch (const ps::Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

class TestLlama : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // The decoder of the tiny LLaVA reference (4 heads, 2 kv heads, 2 layers) and its first prompt's embeddings.
    struct Decoder {
        std::unique_ptr<ps::WeightStore> w;
        ps::LlamaConfig c;
        at::Tensor embeds;  // [2,T,D]
        at::Tensor mask;    // [2,T], row 1 left-padded
        const std::string model = "language_model.model.";
    };
    Decoder decoder() {
        static const ps_test::Reference ref = ps_test::make_reference(tmp_, "llava", {});
        Decoder d;
        if (ref.dir.isEmpty()) return d;
        d.w = std::make_unique<ps::WeightStore>(ps::Checkpoint::open(ref.dir.toStdString()), ps::LoadOptions{});
        const auto& ckpt = d.w->checkpoint();
        d.c = ps::llama_config(ps::ConfigReader(ckpt.config(), ckpt.config_path()).sub("text_config"), ckpt.config_path());
        d.embeds = ref["language.hidden.0"];
        d.mask = ref["attention_mask"];
        return d;
    }

private Q_SLOTS:
    void config_defaults() {
        const ps::LlamaConfig c = config_of(nlohmann::json::object());
        QCOMPARE(c.hidden, int64_t(4096));
        QCOMPARE(c.intermediate, int64_t(11008));
        QCOMPARE(c.layers, int64_t(32));
        QCOMPARE(c.heads, int64_t(32));
        QCOMPARE(c.kv_heads, int64_t(32));
        QCOMPARE(c.head_dim, int64_t(128));
        QCOMPARE(c.vocab, int64_t(32000));
        QCOMPARE(c.eps, 1e-6);
        QCOMPARE(c.rope_theta, 10000.0);
        QCOMPARE(c.act, std::string("silu"));
        QVERIFY(!c.tie_word_embeddings && !c.attention_bias && !c.mlp_bias);
        const ps::LlamaConfig g = config_of({{"hidden_size", 36}, {"num_attention_heads", 3}, {"num_key_value_heads", 1},
                                             {"head_dim", nullptr}, {"rope_scaling", nullptr}});
        QCOMPARE(g.head_dim, int64_t(12));
        QCOMPARE(g.kv_heads, int64_t(1));
        QCOMPARE(config_of({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}}).rope_linear_factor, 2.0);
        QCOMPARE(config_of({{"rope_scaling", {{"rope_type", "default"}}}}).rope_linear_factor, 1.0);
    }

    void config_errors() {
        QString e = config_error({{"rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}}}});
        QVERIFY2(e == "x/config.json: rope_scaling type \"dynamic\" is not supported (default, linear and mrope are)", qPrintable(e));
        e = config_error({{"rope_scaling", {{"type", "mrope"}}}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("\"mrope_section\""), qPrintable(e));
        e = config_error({{"rope_scaling", {{"type", "mrope"}, {"mrope_section", {16, 24, 23}}}}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("head_dim / 2 = 64"), qPrintable(e));
        e = config_error({{"rope_scaling", {{"type", "mrope"}, {"mrope_section", {16, "24", 24}}}}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("mrope_section"), qPrintable(e));
        e = config_error({{"rope_scaling", {{"type", "linear"}}}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("\"factor\""), qPrintable(e));
        e = config_error({{"num_attention_heads", 4}, {"num_key_value_heads", 3}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("not a multiple"), qPrintable(e));
        e = config_error({{"rms_norm_eps", "small"}});
        QVERIFY2(e.startsWith("x/config.json: ") && e.contains("rms_norm_eps"), qPrintable(e));
    }

    void attention_bias() {
        at::Tensor mask = at::tensor({0, 1, 1, 1, 1, 1}, at::kLong).view({2, 3});
        for (at::ScalarType t : {at::kFloat, at::kBFloat16, at::kHalf}) {
            at::Tensor b = ps::llama_attention_bias(mask, 2, 3, 3, t, at::kCPU).to(at::kDouble);
            QCOMPARE(b.sizes().vec(), (std::vector<int64_t>{2, 1, 3, 3}));
            QVERIFY(at::isfinite(b).all().item<bool>());
            at::Tensor allowed = (b == 0).squeeze(1).to(at::kLong);
            at::Tensor want = at::tensor({0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1}, at::kLong).view({2, 3, 3});
            QVERIFY(at::equal(allowed, want));
        }
        // A decoding step: one query over four cached keys.
        at::Tensor step = ps::llama_attention_bias(at::tensor({0, 1, 1, 1}, at::kLong).view({1, 4}), 1, 1, 4, at::kFloat, at::kCPU);
        QVERIFY(at::equal((step == 0).flatten().to(at::kLong), at::tensor({0, 1, 1, 1}, at::kLong)));
    }

    void eager_matches_sdpa() {
        Decoder d = decoder();
        QVERIFY(d.w);
        const at::Tensor positions = at::arange(d.embeds.size(1), at::kLong).unsqueeze(0);
        ps::StageState a = ps::llama_start(d.c, d.embeds, d.mask, positions), b = a;
        at::Tensor probs;
        ps::llama_decoder_block(*d.w, d.model, 0, d.c, a);
        ps::llama_decoder_block(*d.w, d.model, 0, d.c, b, &probs);
        const double gap = ps_test::diff(a.hidden, b.hidden).first;
        qInfo("eager vs SDPA: max abs diff %g", gap);
        QVERIFY(gap <= 1e-5);
        QCOMPARE(probs.sizes().vec(), (std::vector<int64_t>{2, d.c.heads, d.embeds.size(1), d.embeds.size(1)}));
        // Rows sum to 1, except the left-padded queries of row 1, which attend to nothing.
        at::Tensor sums = probs.sum(-1);
        QVERIFY(at::allclose(sums[0], at::ones_like(sums[0])));
        QVERIFY(at::equal(sums[1].slice(-1, 0, 3), at::zeros_like(sums[1].slice(-1, 0, 3))));
        QVERIFY(at::allclose(sums[1].slice(-1, 3), at::ones_like(sums[1].slice(-1, 3))));
    }

    void kv_cache_matches_full_sequence() {
        Decoder d = decoder();
        QVERIFY(d.w);
        const int64_t len = d.embeds.size(1), prefill = len - 4;
        at::Tensor positions = (d.mask.cumsum(-1) - 1).masked_fill(d.mask == 0, 1);
        ps::StageState full = ps::llama_start(d.c, d.embeds, d.mask, positions);
        for (int i = 0; i < d.c.layers; ++i) ps::llama_decoder_block(*d.w, d.model, i, d.c, full);

        std::vector<ps::LayerCache> cache(d.c.layers);
        std::vector<at::Tensor> pieces;
        for (int64_t start = 0; start < len; start = start == 0 ? prefill : start + 1) {
            const int64_t end = start == 0 ? prefill : start + 1;
            ps::StageState s = ps::llama_start(d.c, d.embeds.slice(1, start, end), d.mask.slice(1, 0, end),
                                               positions.slice(1, start, end), start);
            for (int i = 0; i < d.c.layers; ++i) ps::llama_decoder_block(*d.w, d.model, i, d.c, s, nullptr, &cache[i]);
            pieces.push_back(s.hidden);
        }
        QCOMPARE(cache[0].k.size(2), len);
        QCOMPARE(cache[0].k.size(1), d.c.kv_heads);
        const double gap = ps_test::diff(at::cat(pieces, 1), full.hidden).first;
        qInfo("KV cache vs full sequence: max abs diff %g", gap);
        QVERIFY(gap <= 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestLlama)
#include "test_llama.moc"
