// The sampled reconstruction error against a direct float64 computation of ‖W X − W′X‖ / ‖W X‖:
// over every row when the calibration set fits the row budget, over exactly the strided rows of
// each batch when it does not; batches sampled apart and merged in order give the same rows.
#include <QTest>

#include <cmath>
#include <vector>

#include "core/prune/reconstruction_error.h"
#include "tests/test_support.h"

namespace {

constexpr int64_t kIn = 48, kOut = 20;

// ‖X (W − P)ᵀ‖ / ‖X Wᵀ‖ with every product and sum in float64.
double direct_error(const at::Tensor& rows, const at::Tensor& w, const at::Tensor& pruned) {
    const at::Tensor x = rows.to(at::kDouble);
    const double base = at::matmul(x, w.to(at::kDouble).t()).square().sum().item<double>();
    const double err = at::matmul(x, (w - pruned).to(at::kDouble).t()).square().sum().item<double>();
    return std::sqrt(err / base);
}

std::pair<at::Tensor, at::Tensor> weights() {
    const at::Tensor w = at::randn({kOut, kIn});
    return {w, w.masked_fill(at::rand({kOut, kIn}) < 0.6, 0)};
}

}  // namespace

class TestReconstructionError : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(4242); }

    void every_row_when_the_set_fits() {
        const auto [w, pruned] = weights();
        std::vector<at::Tensor> batches = {at::randn({2, 7, kIn}), at::randn({2, 7, kIn}), at::randn({1, 5, kIn})};
        ps::InputRowSample sample(kIn, static_cast<int64_t>(batches.size()), "x", /*max_rows=*/64);
        for (const at::Tensor& b : batches) sample.add(b);
        QCOMPARE(sample.rows(), int64_t(33));
        const at::Tensor all = at::cat({batches[0].reshape({-1, kIn}), batches[1].reshape({-1, kIn}), batches[2].reshape({-1, kIn})});
        QVERIFY(at::equal(sample.matrix(), all));
        const double want = direct_error(all, w, pruned);
        QVERIFY(want > 0.3 && want < 1.0);
        QVERIFY2(std::abs(sample.relative_error(w, pruned) - want) <= 1e-5 * want,
                 qPrintable(QString("%1 vs %2").arg(sample.relative_error(w, pruned)).arg(want)));
    }

    void strided_rows_when_it_does_not() {
        const auto [w, pruned] = weights();
        // 4 batches of 3 x 49 = 147 rows, 588 rows for a budget of 100: stride ceil(588 / 100) = 6,
        // rows 0, 6, ..., 144 of each batch, 25 per batch.
        std::vector<at::Tensor> batches;
        for (int b = 0; b < 4; ++b) batches.push_back(at::randn({3, 49, kIn}) * (b + 1));
        ps::InputRowSample sample(kIn, 4, "x", /*max_rows=*/100);
        for (const at::Tensor& b : batches) sample.add(b);
        QCOMPARE(sample.rows_seen(), int64_t(588));
        QCOMPARE(sample.rows(), int64_t(100));
        std::vector<at::Tensor> picked, all;
        for (const at::Tensor& b : batches) {
            all.push_back(b.reshape({-1, kIn}));
            picked.push_back(all.back().index_select(0, at::arange(0, 147, 6)));
        }
        QVERIFY(at::equal(sample.matrix(), at::cat(picked)));
        const double want = direct_error(at::cat(picked), w, pruned);
        QVERIFY(std::abs(sample.relative_error(w, pruned) - want) <= 1e-5 * want);
        // The estimate is near the error over every row (a sanity bound, not the definition).
        QVERIFY(std::abs(want - direct_error(at::cat(all), w, pruned)) < 0.1 * want);

        // The same batches sampled one by one and merged in order keep the same rows.
        ps::InputRowSample merged(kIn, 4, "x", 100);
        for (const at::Tensor& b : batches) {
            ps::InputRowSample one(kIn, 4, "x", 100);
            one.add(b);
            merged.merge(one);
        }
        QCOMPARE(merged.rows_seen(), int64_t(588));
        QVERIFY(at::equal(merged.matrix(), sample.matrix()));
        QVERIFY(ps_test::error_of([&] { merged.merge(ps::InputRowSample(kIn + 1, 4, "y")); }).contains("cannot merge"));
    }

    void unpruned_and_degenerate_cases() {
        const auto [w, pruned] = weights();
        ps::InputRowSample sample(kIn, 1, "x");
        sample.add(at::randn({9, kIn}));
        QCOMPARE(sample.relative_error(w, w), 0.0);
        QCOMPARE(sample.relative_error(at::zeros_like(w), at::zeros_like(w)), 0.0);
        QCOMPARE(sample.relative_error(w, at::zeros_like(w)), 1.0);
    }

    void errors_name_the_input() {
        ps::InputRowSample sample(kIn, 1, "layers.0.fc1 input");
        QVERIFY(ps_test::error_of([&] { sample.matrix(); }).contains("layers.0.fc1 input: no calibration rows"));
        QVERIFY(ps_test::error_of([&] { sample.add(at::randn({4, kIn + 1})); }).contains("does not end in 48"));
        QVERIFY(ps_test::error_of([&] { sample.add(at::ones({4, kIn}, at::kLong)); }).contains("floating point"));
        sample.add(at::randn({4, kIn}));
        QVERIFY(ps_test::error_of([&] { sample.relative_error(at::randn({kOut, kIn}), at::randn({kOut, kIn + 1})); })
                    .contains("layers.0.fc1 input"));
        QVERIFY(ps_test::error_of([] { ps::InputRowSample(0, 1, "x"); }).contains("positive"));
    }
};

QTEST_APPLESS_MAIN(TestReconstructionError)
#include "test_reconstruction_error.moc"
