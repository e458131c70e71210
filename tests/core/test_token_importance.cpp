// Token importance: every metric against a loop-by-loop reference on random attention; the
// token-weighted input norms of CoMP's CIP against their definition; live heads from zeroed
// o-projection columns. On the default model: [CLS]-attention of the last vision block falls on the
// garment, not on Fashion-MNIST's black background; and while half the heads of that block fade
// out under soft masks, CoMP's masked-attention ranking stays closer to the unpruned ranking than
// the naive one, whose parameter-masked heads flatten towards uniform attention (Kendall τ).
#include <QTest>

#include <cmath>
#include <vector>

#include <ATen/core/grad_mode.h>

#include "core/data/fashion_mnist.h"
#include "core/data/image_processor.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/token/image_tokens.h"
#include "core/token/token_importance.h"
#include "tests/test_support.h"

class TestTokenImportance : public QObject {
    Q_OBJECT
private:
    // Random attention probabilities [B,H,N,N], rows summing to 1.
    static at::Tensor random_probs(int64_t b, int64_t h, int64_t n) {
        return at::softmax(at::randn({b, h, n, n}, at::kDouble) * 2, -1).to(at::kFloat);
    }

    static double kendall_tau(const std::vector<float>& a, const std::vector<float>& b) {
        double concordant = 0, discordant = 0;
        for (size_t i = 0; i < a.size(); ++i)
            for (size_t j = i + 1; j < a.size(); ++j) {
                const double s = (a[i] - a[j]) * (b[i] - b[j]);
                if (s > 0) ++concordant;
                else if (s < 0) ++discordant;
            }
        const double pairs = a.size() * (a.size() - 1) / 2.0;
        return (concordant - discordant) / pairs;
    }

    std::unique_ptr<ps::Vlm> model_;
    ps::VlmInputs images_;
    at::Tensor raw_;  // [N,28,28] uint8

private Q_SLOTS:
    void initTestCase() {
        at::manual_seed(0);
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        raw_ = test.images.slice(0, 0, 1000);
        images_.pixel_values = ps::preprocess_gray_batch(raw_, ps::Processor(*model_).image_config());
    }

    void metrics_match_loop_references() {
        const at::Tensor p = random_probs(2, 3, 5);
        const at::Tensor cls = ps::cls_attention(p), rec = ps::attention_received(p), last = ps::last_token_attention(p);
        QCOMPARE(cls.sizes().vec(), (std::vector<int64_t>{2, 4}));
        QCOMPARE(rec.sizes().vec(), (std::vector<int64_t>{2, 5}));
        const at::Tensor mask = at::tensor({1.0f, 0.0f, 1.0f});
        const at::Tensor cim = ps::collaborative_token_importance(p, mask);
        for (int64_t b = 0; b < 2; ++b) {
            double cim_total = 0;
            std::vector<double> cim_ref(5, 0.0);
            for (int64_t i = 0; i < 5; ++i) {
                double c = 0, r = 0, l = 0;
                for (int64_t h = 0; h < 3; ++h) {
                    c += p[b][h][0][i].item<double>() / 3;
                    l += p[b][h][4][i].item<double>() / 3;
                    for (int64_t n = 0; n < 5; ++n) r += p[b][h][n][i].item<double>() / 3;
                }
                for (int64_t n = 0; n < 5; ++n)  // max over the heads the mask keeps (0 and 2)
                    cim_ref[i] += std::max(p[b][0][n][i].item<double>(), p[b][2][n][i].item<double>());
                cim_total += cim_ref[i];
                if (i > 0) QVERIFY(std::abs(cls[b][i - 1].item<double>() - c) < 1e-6);
                QVERIFY(std::abs(rec[b][i].item<double>() - r) < 1e-5);
                QVERIFY(std::abs(last[b][i].item<double>() - l) < 1e-6);
            }
            for (int64_t i = 0; i < 5; ++i) QVERIFY(std::abs(cim[b][i].item<double>() - cim_ref[i] / cim_total) < 1e-6);
        }
        // without a mask, every head takes part
        const at::Tensor all = ps::collaborative_token_importance(p, {});
        const at::Tensor want = std::get<0>(p.max(1)).sum(1);
        QVERIFY(at::allclose(all, want / want.sum(1, true), 1e-5, 1e-7));
        QVERIFY(!ps_test::error_of([&] { ps::collaborative_token_importance(p, at::ones({2})); }).isEmpty());
        QVERIFY(ps_test::error_of([&] { ps::cls_attention(at::ones({2, 3, 4})); }).contains("[B,H,N,N]"));
    }

    void token_weighted_norms_follow_the_definition() {
        const at::Tensor x = at::randn({2, 4, 3});
        const at::Tensor s = at::rand({2, 4}) + 0.1;
        const at::Tensor got = ps::token_weighted_column_norms(x, s, true);
        for (int64_t j = 0; j < 3; ++j) {
            double sum = 0;
            for (int64_t b = 0; b < 2; ++b) {
                double rest = 0;
                for (int64_t n = 1; n < 4; ++n) rest += s[b][n].item<double>();
                for (int64_t n = 0; n < 4; ++n) {
                    const double w = n == 0 ? 1.0 : s[b][n].item<double>() / rest;
                    sum += w * std::pow(x[b][n][j].item<double>(), 2);
                }
            }
            QVERIFY(std::abs(got[j].item<double>() - std::sqrt(sum)) < 1e-5);
        }
        // no [CLS]: weights normalised over every token; equal weights give the plain norm / sqrt(N)
        const at::Tensor plain = ps::token_weighted_column_norms(x.slice(0, 0, 1), at::ones({1, 4}), false);
        QVERIFY(at::allclose(plain, x[0].pow(2).sum(0).sqrt() / 2.0, 1e-5, 1e-6));
        QVERIFY(!ps_test::error_of([&] { ps::token_weighted_column_norms(x, at::ones({2, 3}), true); }).isEmpty());
    }

    void live_heads_from_zeroed_columns() {
        at::Tensor o = at::randn({6, 8});
        o.slice(1, 2, 4).zero_();  // head 1 of 4 (head_dim 2)
        QVERIFY(at::equal(ps::live_heads(o, 4), at::tensor({1.0f, 0.0f, 1.0f, 1.0f})));
        QVERIFY(!ps_test::error_of([&] { ps::live_heads(o, 3); }).isEmpty());
    }

    // ≥ 80 % of the top-25 % tokens by [CLS]-attention at the last vision block lie on patches whose
    // mean pixel is above 25 (of 255): the garment, not the black background.
    void cls_attention_falls_on_the_garment() {
        const int last = model_->towers()[0].num_blocks - 1;
        const auto grids = ps::image_token_importance(*model_, images_, last, ps::TokenMetric::Cls);
        QCOMPARE(grids.size(), size_t(1000));
        QCOMPARE(grids[0].rows, 4);
        const at::Tensor patch_mean = raw_.to(at::kFloat).view({-1, 4, 7, 4, 7}).mean({2, 4}).view({-1, 16});
        int64_t on = 0, total = 0, foreground_patches = 0;
        for (size_t i = 0; i < grids.size(); ++i) {
            std::vector<int> order(16);
            for (int k = 0; k < 16; ++k) order[k] = k;
            std::sort(order.begin(), order.end(), [&](int a, int b) { return grids[i].scores[a] > grids[i].scores[b]; });
            for (int k = 0; k < 4; ++k) on += patch_mean[i][order[k]].item<float>() > 25.0f;
            total += 4;
            foreground_patches += (patch_mean[i] > 25.0f).sum().item<int64_t>();
        }
        const double share = static_cast<double>(on) / total;
        qInfo("top-25%% [CLS]-attention tokens on the garment: %.2f%% (%lld of %lld); garment patches overall: %.2f%%",
              100 * share, static_cast<long long>(on), static_cast<long long>(total),
              100.0 * foreground_patches / (16.0 * grids.size()));
        QVERIFY2(share >= 0.8, qPrintable(QString::number(share)));
    }

    // Half the heads of the last vision block pruned (every choice of 2 of its 4 heads), as progressive
    // pruning does it: their mask m falls from 1 to 0 (UPop/CoMP-style soft masks). Naive: the
    // parameters masked — q, k, v rows and o columns scaled by m, so the pruned heads' attention
    // flattens towards uniform and enters the max at full weight. Masked (CIT): the unpruned
    // attention with those heads scaled by m. Kendall τ of each ranking against the unpruned one,
    // averaged over 6 choices x 200 images. While the heads fade (m = 0.75, 0.5, 0.25) the masked
    // ranking stays closer; at m = 0 both keep only the other heads' attention (naive adds a 1/N
    // floor) and the figures are reported as they come.
    void masked_attention_ranking_stays_closer_than_naive() {
        at::NoGradGuard no_grad;
        const int last = model_->towers()[0].num_blocks - 1;
        const std::string p = "vision_model.encoder.layer." + std::to_string(last) + ".attention.";
        ps::VlmInputs in;
        in.pixel_values = images_.pixel_values.slice(0, 0, 200);
        ps::StageState s = model_->embed(0, in, {});
        for (int i = 0; i < last; ++i) model_->block(0, i, s);
        auto scores = [&](const at::Tensor& mask) {
            ps::StageState copy = s;
            at::Tensor probs;
            model_->block(0, last, copy, &probs);
            return ps::collaborative_token_importance(probs, mask).slice(1, 1);  // patches
        };
        auto vec = [](const at::Tensor& t) {
            const at::Tensor c = t.contiguous();
            return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        };
        const at::Tensor dense = scores({});
        ps::WeightStore& w = model_->weights();
        const int heads = 4, head_dim = 32;
        for (const double m : {0.75, 0.5, 0.25, 0.0}) {
            double tau_masked = 0, tau_naive = 0;
            int samples = 0;
            for (int a = 0; a < heads; ++a)
                for (int b = a + 1; b < heads; ++b) {
                    at::Tensor mask = at::ones({heads});
                    mask[a] = m;
                    mask[b] = m;
                    const at::Tensor masked = scores(mask);
                    auto scale = [&](const std::string& name, int64_t dim) {
                        at::Tensor t = w.get(name).clone();
                        t.slice(dim, a * head_dim, (a + 1) * head_dim).mul_(m);
                        t.slice(dim, b * head_dim, (b + 1) * head_dim).mul_(m);
                        w.set(name, t);
                    };
                    for (const char* l : {"attention.query", "attention.key", "attention.value"})
                        for (const char* kind : {".weight", ".bias"}) scale(p + l + kind, 0);
                    scale(p + "output.dense.weight", 1);
                    const at::Tensor naive = scores({});
                    w.clear_overrides();
                    for (int64_t i = 0; i < dense.size(0); ++i) {
                        tau_masked += kendall_tau(vec(masked[i]), vec(dense[i]));
                        tau_naive += kendall_tau(vec(naive[i]), vec(dense[i]));
                    }
                    samples += static_cast<int>(dense.size(0));
                }
            tau_masked /= samples;
            tau_naive /= samples;
            qInfo("half the heads at mask %.2f: Kendall tau against the unpruned ranking: masked %.3f, naive %.3f", m,
                  tau_masked, tau_naive);
            QVERIFY(tau_naive < 0.95);  // pruning heads does change the naive ranking
            if (m > 0) QVERIFY2(tau_masked > tau_naive, qPrintable(QString("%1 vs %2").arg(tau_masked).arg(tau_naive)));
        }
    }

    void bad_requests_name_the_problem() {
        QVERIFY(ps_test::error_of([&] { ps::image_token_importance(*model_, images_, 9, ps::TokenMetric::Cls); })
                    .contains("not a block of the vision tower"));
        QVERIFY(ps_test::error_of([&] { ps::image_token_importance(*model_, images_, 0, ps::TokenMetric::Text); })
                    .contains("LLaVA"));
        QVERIFY(ps_test::error_of([] { ps::parse_token_metric("foo"); }).contains("tokens.metric"));
    }
};

QTEST_GUILESS_MAIN(TestTokenImportance)
#include "test_token_importance.moc"
