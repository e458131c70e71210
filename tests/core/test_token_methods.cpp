// The registered token-reduction methods against straightforward references written from their
// rules (tests/python/token_methods_reference.py): the selection rules on random features (the
// same kept indices, merged rows within 1e-5); on a tiny LLaVA-1.5 built by transformers, each
// method before the language model at keep 0.5 gives the logits and greedy tokens of transformers'
// language model run on a prompt holding only the kept (or merged) image features; keep 1.0 is
// bit-identical to no pruning for every method; the random choice is reproducible by its seed;
// PyramidDrop's stages equal masking the dropped keys stage by stage, in forward and generation.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "core/io/tensor_view.h"
#include "core/model/causal_vlm.h"
#include "core/model/demo_checkpoint.h"
#include "core/token/flops.h"
#include "core/token/method_grid.h"
#include "core/token/token_method.h"
#include "core/token/token_pruning.h"
#include "core/token/token_selection.h"
#include "tests/core/demo_inputs.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

namespace {

std::map<std::string, at::Tensor> read_all(const QString& path) {
    std::map<std::string, at::Tensor> out;
    for (const auto& [name, t] : ps::load_safetensors(path.toStdString())) out[name] = t.clone();
    return out;
}

ps::TokenOptions method(const std::string& name, double keep) {
    ps::TokenOptions t;
    t.method = name;
    t.keep = keep;
    t.seed = 3;
    t.pivots = 2;
    t.contextual = 0.25;
    t.stages = 2;
    return t;
}

}  // namespace

class TestTokenMethods : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::unique_ptr<ps::Vlm> llava_;
    ps::VlmInputs in_;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        const auto py = ps_test::run_python("token_methods_reference.py", {"llava", tmp_.path()});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        llava_ = ps::Vlm::load(tmp_.filePath("llava").toStdString());
        const auto inputs = read_all(tmp_.filePath("inputs.safetensors"));
        in_.pixel_values = inputs.at("pixel_values");
        in_.input_ids = inputs.at("input_ids");
    }

    void registry_lists_every_method() {
        for (const char* name : {"random", "fastervlm", "visionzip", "dart", "divprune", "pyramiddrop", "fastv", "cls", "received", "cim"})
            QVERIFY2(ps::find_token_method(name), name);
        QCOMPARE(ps::token_methods().front().name, std::string("random"));
        QCOMPARE(ps::find_token_method("dart")->attention, std::string("none"));
        QVERIFY(ps::find_token_method("visionzip")->merges);
    }

    void rules_match_the_reference() {
        at::manual_seed(11);
        ps::NamedTensors cases;
        const std::vector<std::array<int64_t, 4>> shapes = {{40, 16, 10, 3}, {25, 32, 13, 3}, {64, 24, 16, 4}, {9, 8, 8, 1}, {12, 8, 12, 0}};
        for (size_t i = 0; i < shapes.size(); ++i) {
            const auto [n, d, k, c] = shapes[i];
            const std::string s = std::to_string(i);
            cases.push_back({"x" + s, at::randn({n, d})});
            cases.push_back({"k" + s, at::scalar_tensor(k, at::kLong)});
            cases.push_back({"s" + s, at::rand({n})});
            cases.push_back({"d" + s, at::scalar_tensor(k - c, at::kLong)});
            cases.push_back({"c" + s, at::scalar_tensor(c, at::kLong)});
        }
        const QString in = tmp_.filePath("rules-in.safetensors"), out = tmp_.filePath("rules-out.safetensors");
        ps::save_safetensors(in.toStdString(), cases);
        const auto py = ps_test::run_python("token_methods_reference.py", {"rules", in, out});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const auto want = read_all(out);
        for (size_t i = 0; i < shapes.size(); ++i) {
            const auto [n, d, k, c] = shapes[i];
            const std::string s = std::to_string(i);
            const at::Tensor x = cases[5 * i].second, scores = cases[5 * i + 2].second;
            QVERIFY2(at::equal(ps::dart_tokens(x, k, 2), want.at("dart" + s)), ("dart case " + s).c_str());
            QVERIFY2(at::equal(ps::divprune_tokens(x, k), want.at("divprune" + s)), ("divprune case " + s).c_str());
            at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
            QVERIFY2(at::equal(ps::random_tokens(n, k, g), want.at("random" + s)), ("random case " + s).c_str());
            const ps::MergedTokens m = ps::visionzip_tokens(x, scores, k - c, c);
            QVERIFY2(at::equal(m.kept, want.at("visionzip_kept" + s)), ("visionzip case " + s).c_str());
            QVERIFY2(at::equal(m.merged_into, want.at("visionzip_into" + s)), ("visionzip assignment case " + s).c_str());
            QCOMPARE(m.contextual.sizes(), want.at("visionzip_merged" + s).sizes());
            if (c > 0) QVERIFY2(ps_test::max_abs_diff(m.contextual, want.at("visionzip_merged" + s)) <= 1e-5, ("visionzip merged " + s).c_str());
            QCOMPARE(m.kept.numel() + m.contextual.size(0), std::min<int64_t>(k, n));
        }
    }

    void llava_matches_transformers_on_the_shortened_prompt() {
        at::NoGradGuard no_grad;
        auto* causal = dynamic_cast<const ps::CausalVlm*>(llava_.get());
        QVERIFY(causal);
        for (const char* name : {"random", "dart", "divprune", "fastervlm", "visionzip"}) {
            const auto want = read_all(tmp_.filePath(QString(name) + ".safetensors"));
            ps::install_token_pruning(*llava_, ps::TokenPruning::from_plan(method(name, 0.5), *llava_));
            const at::Tensor logits = llava_->forward(in_).logits;
            QCOMPARE(logits.size(1), in_.input_ids.size(1) - 12);  // 13 of 25 image tokens
            const double d = (logits - want.at("logits")).abs().max().item<double>();
            qInfo("%-10s logits on %lld tokens, max abs diff %.3g", name, static_cast<long long>(logits.size(1)), d);
            QVERIFY2(d <= 1e-4, name);
            const auto tokens = causal->generate_batch(in_, 4, std::nullopt);
            for (int64_t b = 0; b < 2; ++b)
                for (int64_t t = 0; t < 4; ++t) QCOMPARE(tokens[b][t], want.at("tokens")[b][t].item<int64_t>());
        }
        ps::install_token_pruning(*llava_, {});
    }

    void keep_one_is_bit_identical_for_every_method() {
        at::NoGradGuard no_grad;
        const at::Tensor dense = llava_->forward(in_).logits;
        for (const ps::TokenMethod& m : ps::token_methods()) {
            const ps::TokenPruning p = ps::TokenPruning::from_plan(method(m.name, 1.0), *llava_);
            QVERIFY2(!p.active(), m.name.c_str());
            ps::install_token_pruning(*llava_, p);
            QVERIFY2(at::equal(llava_->forward(in_).logits, dense), m.name.c_str());
        }
    }

    void random_is_reproducible_by_its_seed() {
        at::NoGradGuard no_grad;
        ps::TokenOptions t = method("random", 0.4);
        ps::install_token_pruning(*llava_, ps::TokenPruning::from_plan(t, *llava_));
        const at::Tensor first = llava_->forward(in_).logits;
        QVERIFY(at::equal(llava_->forward(in_).logits, first));
        t.seed = 4;
        ps::install_token_pruning(*llava_, ps::TokenPruning::from_plan(t, *llava_));
        QVERIFY(!at::equal(llava_->forward(in_).logits, first));
        ps::install_token_pruning(*llava_, {});
    }

    // PyramidDrop on the demo LLaVA (6 decoder layers in 3 stages: drops after layers 1 and 3, each
    // keeping 0.25^(1/2) of the image tokens left: 16 -> 8 -> 4). Reference: the
    // unpruned run with the dropped image tokens masked as keys from the layer after each drop,
    // each drop ranking the image tokens still unmasked by the last prompt token's attention.
    void pyramid_drop_matches_masking_stage_by_stage() {
        at::NoGradGuard no_grad;
        QTemporaryDir dir;
        ps::write_demo_checkpoint(dir.filePath("demo").toStdString(), 5);
        auto demo = ps::Vlm::load(dir.filePath("demo").toStdString());
        QCOMPARE(demo->towers()[1].num_blocks, 6);
        ps::TokenOptions t = method("pyramiddrop", 0.25);
        t.stages = 3;
        const ps::TokenPruning p = ps::TokenPruning::from_plan(t, *demo);
        QVERIFY((p.language == std::map<int, double>{{1, 0.5}, {3, 0.5}}));
        ps::VlmInputs in = ps_test::demo_llava_prompts();
        in.input_ids[1].slice(0, 0, 2).fill_(7);  // no padding: forward and generation count positions alike
        in.attention_mask.fill_(1);
        ps::install_token_pruning(*demo, p);
        const at::Tensor got = demo->forward(in).logits;
        const auto generated = dynamic_cast<const ps::CausalVlm*>(demo.get())->generate_batch(in, 3, std::nullopt);
        ps::install_token_pruning(*demo, {});

        // The masked reference over the prompt and the tokens generated so far: the drops are
        // decided on the prompt alone (its last token), then hold for every later position.
        const int64_t prompt = in.input_ids.size(1);
        std::vector<at::Tensor> dropped_after;  // per drop layer: [B,T] the image tokens masked from the next layer on
        auto run = [&](const ps::VlmInputs& x, bool decide) {
            std::vector<ps::StageState> done{demo->run_tower(0, x)};
            ps::StageState s = demo->embed(1, x, done);
            const at::Tensor slots = (x.input_ids == 1023).slice(1, 0, prompt);
            at::Tensor masked = at::zeros_like(slots);
            size_t drop = 0;
            for (int i = 0; i < 6; ++i) {
                const bool drops = p.language.count(i) > 0;
                at::Tensor probs;
                demo->block(1, i, s, drops && decide ? &probs : nullptr);
                if (!drops) continue;
                if (decide) {
                    const at::Tensor last = probs.select(2, prompt - 1).mean(1).slice(1, 0, prompt);  // [B,T]
                    at::Tensor now = masked.clone();
                    for (int64_t b = 0; b < 2; ++b) {
                        const at::Tensor left = (slots[b] & masked[b].logical_not()).nonzero().squeeze(1);
                        const int64_t keep = ps::kept_tokens(left.numel(), p.language.at(i));
                        const at::Tensor top = std::get<1>(last[b].index_select(0, left).topk(keep));
                        at::Tensor gone = at::ones({left.numel()}, at::kBool).index_fill(0, top, false);
                        now[b].index_fill_(0, left.masked_select(gone), true);
                    }
                    dropped_after.push_back(now);
                }
                masked = dropped_after[drop++];
                const at::Tensor keys = at::cat({masked, at::zeros({2, x.input_ids.size(1) - prompt}, at::kBool)}, 1);
                s.bias = s.bias.masked_fill(keys.view({2, 1, 1, -1}), -3.4028234663852886e38f);
            }
            demo->finish(1, s);
            done.push_back(s);
            return demo->head(x, done).logits;
        };
        const at::Tensor full = run(in, true);
        const at::Tensor kept = dropped_after.back().logical_not();
        QCOMPARE(got.size(1), prompt - 12);  // 4 of 16 image tokens left
        for (int64_t b = 0; b < 2; ++b) {
            const double d = ps_test::max_abs_diff(got[b], full[b].index_select(0, kept[b].nonzero().squeeze(1)));
            qInfo("PyramidDrop row %lld: logits max abs diff %.3g", static_cast<long long>(b), d);
            QVERIFY(d <= 1e-4);
        }
        // Greedy decoding: each new token from the masked reference over the prompt and the tokens so far.
        ps::VlmInputs x = in;
        for (int step = 0; step < 3; ++step) {
            const at::Tensor next = run(x, false).select(1, -1).argmax(-1);
            for (int64_t b = 0; b < 2; ++b) QCOMPARE(generated[b][step], next[b].item<int64_t>());
            x.input_ids = at::cat({x.input_ids, next.unsqueeze(1)}, 1);
            x.attention_mask = at::cat({x.attention_mask, at::ones({2, 1}, x.attention_mask.options())}, 1);
        }
        // The tokens the language model meets, and the equivalent image tokens of the three stages.
        const auto counts = ps::token_counts(*demo, p, 17, 24, 16);
        QCOMPARE(counts[1], (std::vector<int64_t>{24, 24, 16, 16, 12, 12}));  // 16 -> 8 -> 4 image tokens
        QCOMPARE(ps::equivalent_image_tokens(counts[1], 8), (2 * 16 + 2 * 8 + 2 * 4) / 6.0);
    }

    // The side-by-side grids: what each method keeps of the first prompt's 5 x 5 image tokens.
    void grids_show_what_each_method_keeps() {
        at::NoGradGuard no_grad;
        ps::VlmInputs one;
        one.pixel_values = in_.pixel_values.slice(0, 0, 1);
        one.input_ids = in_.input_ids.slice(0, 0, 1);
        const at::Tensor features = llava_->run_tower(0, one).hidden[0];  // [25, D], the image tokens' features
        for (const ps::TokenMethod& m : ps::token_methods()) {
            ps::TokenOptions t = method(m.name, 0.5);
            if (m.name == "fastv") t.layer = 0;  // the tiny decoder has 2 layers
            const ps::TokenGrid g = ps::method_token_grid(*llava_, one, t);
            QCOMPARE(g.rows * g.cols, 25);
            int64_t dropped = 0, merged = 0;
            for (size_t i = 0; i < g.dropped.size(); ++i) {
                dropped += g.dropped[i];
                merged += m.merges && g.scores[i] == 0.5f;
            }
            qInfo("%-11s kept %lld, merged %lld, dropped %lld", m.name.c_str(), static_cast<long long>(25 - dropped - merged),
                  static_cast<long long>(merged), static_cast<long long>(dropped));
            QCOMPARE(dropped, m.merges ? 0 : 12);  // VisionZip: 10 dominant, the other 15 merged into 3
            if (m.merges) QCOMPARE(merged, int64_t(15));
            if (m.name == "dart") {
                const at::Tensor kept = ps::dart_tokens(features, 13, 2);
                for (int64_t i = 0; i < kept.numel(); ++i) QCOMPARE(g.dropped[static_cast<size_t>(kept[i].item<int64_t>())], uint8_t(0));
            }
        }
        QVERIFY(!llava_->token_hook().apply);
    }

    void bad_options_name_the_field() {
        ps::TokenOptions t = method("pyramiddrop", 0.5);
        t.stages = 9;
        QVERIFY(ps_test::error_of([&] { ps::TokenPruning::from_plan(t, *llava_); }).contains("tokens.stages"));
        QVERIFY(ps_test::error_of([&] {
                    ps::install_token_pruning(*llava_, ps::TokenPruning::from_plan(method("fastv", 0.5), *llava_));
                }).contains("tokens.layer: 2 is not a block"));
        QVERIFY(!llava_->token_hook().apply);
    }
};

QTEST_GUILESS_MAIN(TestTokenMethods)
#include "test_token_methods.moc"
