// Run-time token pruning: keep ratio 1.0 leaves the outputs bit-identical, and a hook that keeps
// every token matches within float rounding (eager attention at that block); dropping half the
// vision patches, half the text tokens (dual encoder) or half of LLaVA's image tokens gives what a
// hand-written reference gives (gathering the hidden states and the padding mask by hand; for the
// causal decoder, masking the dropped keys instead of removing them); the next-token calibration
// loss counts the positions that are left; bad requests name the field.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include <ATen/core/grad_mode.h>

#include "core/model/demo_checkpoint.h"
#include "core/model/layers.h"
#include "core/prune/calibration.h"
#include "core/prune/calibration_loss.h"
#include "core/token/token_importance.h"
#include "core/token/token_pruning.h"
#include "tests/core/demo_inputs.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

class TestTokenPruning : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::unique_ptr<ps::Vlm> model_, llava_;
    ps::VlmInputs batch_;


    // The top-k of `scores` [B,C] per row, as ascending indices.
    static at::Tensor top_sorted(const at::Tensor& scores, int64_t k) {
        return std::get<0>(std::get<1>(scores.topk(k, 1)).sort(1));
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 16;
        c.batch_size = 16;
        batch_ = ps::calibration_batches(*model_, c, 1).front();
        QVERIFY((batch_.attention_mask == 0).any().item<bool>());  // padded captions: the mask must follow
        const std::string demo = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo, 5);
        llava_ = ps::Vlm::load(demo);
    }

    void keep_one_is_identical() {
        const ps::VlmOutputs dense = model_->forward(batch_);
        ps::TokenPruning p;
        p.vision = {{1, 1.0}};
        p.language = {{2, 1.0}};
        QVERIFY(!p.active());
        ps::install_token_pruning(*model_, p);
        QVERIFY(at::equal(model_->forward(batch_).logits_per_image, dense.logits_per_image));
        // 0.99 of 16 patches rounds to all 16: the hook runs (eager attention at block 1) and keeps every token
        p.vision = {{1, 0.99}};
        ps::install_token_pruning(*model_, p);
        QVERIFY(model_->token_hook().after.count({0, 1}));
        const double d = ps_test::max_abs_diff(model_->forward(batch_).logits_per_image, dense.logits_per_image);
        qInfo("keep 0.99 (every patch kept) vs no pruning: max abs diff %.3g", d);
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
        ps::install_token_pruning(*model_, {});
        QVERIFY(!model_->token_hook().apply);
    }

    void kept_counts_round_and_keep_one() {
        QCOMPARE(ps::kept_tokens(16, 0.5), int64_t(8));
        QCOMPARE(ps::kept_tokens(16, 0.99), int64_t(16));
        QCOMPARE(ps::kept_tokens(16, 0.01), int64_t(1));
        QCOMPARE(ps::kept_tokens(7, 0.5), int64_t(4));
    }

    // Vision: half the patches after block 1 by [CLS]-attention; text: half the tokens but [CLS]
    // after block 2. The reference gathers the states and rebuilds the padding mask by hand.
    void dual_encoder_matches_a_hand_reference() {
        at::NoGradGuard no_grad;
        ps::TokenPruning p;
        p.vision = {{1, 0.5}};
        p.language = {{2, 0.5}};
        ps::install_token_pruning(*model_, p);
        ps::CaptureOptions capture;
        capture.hidden_states = true;
        const ps::VlmOutputs got = model_->forward(batch_, capture);
        ps::install_token_pruning(*model_, {});
        QCOMPARE(got.hidden_states[0][1].size(1), int64_t(17));  // block 0's output
        QCOMPARE(got.hidden_states[0][2].size(1), int64_t(9));   // block 1's, after the drop: [CLS] + 8 patches

        std::vector<ps::StageState> done;
        ps::StageState v = model_->embed(0, batch_, {});
        for (int i = 0; i < 4; ++i) {
            at::Tensor probs;
            model_->block(0, i, v, i == 1 ? &probs : nullptr);
            if (i == 1) {
                const at::Tensor cls = probs.select(2, 0).mean(1).slice(1, 1);  // [B,16]
                const at::Tensor keep = at::cat({at::zeros({cls.size(0), 1}, at::kLong), top_sorted(cls, 8) + 1}, 1);
                v.hidden = v.hidden.gather(1, keep.unsqueeze(-1).expand({-1, -1, v.hidden.size(2)}));
            }
        }
        model_->finish(0, v);
        done.push_back(v);
        ps::StageState t = model_->embed(1, batch_, done);
        for (int i = 0; i < 6; ++i) {
            at::Tensor probs;
            model_->block(1, i, t, i == 2 ? &probs : nullptr);
            if (i == 2) {
                const int64_t n = t.hidden.size(1);
                const at::Tensor cls = probs.select(2, 0).mean(1).slice(1, 1);
                const at::Tensor keep =
                    at::cat({at::zeros({cls.size(0), 1}, at::kLong), top_sorted(cls, ps::kept_tokens(n - 1, 0.5)) + 1}, 1);
                t.hidden = t.hidden.gather(1, keep.unsqueeze(-1).expand({-1, -1, t.hidden.size(2)}));
                t.bias = ps::padding_bias(batch_.attention_mask.gather(1, keep), t.hidden.scalar_type());
            }
        }
        model_->finish(1, t);
        done.push_back(t);
        const ps::VlmOutputs want = model_->head(batch_, done);
        const double d = ps_test::max_abs_diff(got.logits_per_image, want.logits_per_image);
        qInfo("pruned vision + text tokens vs the hand reference: max abs diff %.3g (vs dense %.3g)", d,
              ps_test::max_abs_diff(got.logits_per_image, model_->forward(batch_).logits_per_image));
        QVERIFY2(d <= 1e-5, qPrintable(QString::number(d)));
        QVERIFY(ps_test::max_abs_diff(got.logits_per_image, model_->forward(batch_).logits_per_image) > 1e-4);
    }

    // LLaVA: half of the 16 image tokens after decoder layer 1 by the last prompt token's attention.
    // Reference: the same run with the dropped image tokens masked as keys from layer 2 on.
    void llava_decoder_matches_masking_the_dropped_keys() {
        at::NoGradGuard no_grad;
        const ps::VlmInputs in = ps_test::demo_llava_prompts();
        ps::TokenPruning p;
        p.metric = ps::TokenMetric::Text;
        p.language = {{1, 0.5}};
        ps::install_token_pruning(*llava_, p);
        const ps::VlmOutputs got = llava_->forward(in);
        const double loss = ps::calibration_loss(*llava_, in).item<double>();
        ps::install_token_pruning(*llava_, {});
        QCOMPARE(got.logits.size(1), in.input_ids.size(1) - 8);

        std::vector<ps::StageState> done{llava_->run_tower(0, in)};
        ps::StageState s = llava_->embed(1, in, done);
        at::Tensor kept;  // [B,T] bool
        for (int i = 0; i < llava_->towers()[1].num_blocks; ++i) {
            at::Tensor probs;
            llava_->block(1, i, s, i == 1 ? &probs : nullptr);
            if (i == 1) {
                const at::Tensor last = probs.select(2, probs.size(2) - 1).mean(1);  // [B,T]
                const at::Tensor slots = in.input_ids == 1023;
                const at::Tensor image_scores = last.masked_select(slots).view({2, 16});
                const at::Tensor top = top_sorted(image_scores, 8);
                kept = slots.logical_not();
                for (int64_t b = 0; b < 2; ++b) {
                    const at::Tensor positions = slots[b].nonzero().squeeze(1);
                    kept[b].index_fill_(0, positions.index_select(0, top[b]), true);
                }
                s.bias = s.bias.masked_fill(kept.logical_not().view({2, 1, 1, -1}), -3.4028234663852886e38f);
            }
        }
        llava_->finish(1, s);
        done.push_back(s);
        const at::Tensor full = llava_->head(in, done).logits;  // [B,T,V]
        for (int64_t b = 0; b < 2; ++b) {
            const at::Tensor want = full[b].index_select(0, kept[b].nonzero().squeeze(1));
            const double d = ps_test::max_abs_diff(got.logits[b], want);
            qInfo("LLaVA prompt %lld: logits of the kept positions vs masking the dropped keys: max abs diff %.3g",
                  static_cast<long long>(b), d);
            QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
        }
        // the calibration loss: next-token cross-entropy at the kept positions
        double sum = 0;
        int64_t count = 0;
        for (int64_t b = 0; b < 2; ++b) {
            const at::Tensor pos = kept[b].nonzero().squeeze(1);
            for (int64_t k = 0; k < pos.size(0); ++k) {
                const int64_t t = pos[k].item<int64_t>();
                if (t + 1 >= in.input_ids.size(1)) continue;
                const at::Tensor logp = full[b][t].to(at::kDouble).log_softmax(0);
                sum -= logp[in.input_ids[b][t + 1].item<int64_t>()].item<double>();
                ++count;
            }
        }
        qInfo("calibration loss with image tokens dropped: %.6f, reference %.6f", loss, sum / count);
        QVERIFY(std::abs(loss - sum / count) <= 1e-4);
    }

    void bad_requests_name_the_field() {
        ps::TokenPruning p;
        p.vision = {{7, 0.5}};
        QVERIFY(ps_test::error_of([&] { ps::install_token_pruning(*model_, p); }).contains("tokens.vision: block 7"));
        p.vision = {{0, 0.5}};
        p.contextual = 0.25;  // VisionZip merges at the vision tower's last block only
        QVERIFY(ps_test::error_of([&] { ps::install_token_pruning(*llava_, p); }).contains("tokens.method: VisionZip"));
        p.contextual = 0;
        p.vision.clear();
        p.language = {{6, 0.5}};
        QVERIFY(ps_test::error_of([&] { ps::install_token_pruning(*model_, p); }).contains("tokens.language_after"));
        p.language = {{1, 0.5}};
        p.metric = ps::TokenMetric::Text;
        QVERIFY(ps_test::error_of([&] { ps::install_token_pruning(*model_, p); }).contains("LLaVA"));
        QVERIFY(!model_->token_hook().apply);
    }
};

QTEST_GUILESS_MAIN(TestTokenPruning)
#include "test_token_pruning.moc"
