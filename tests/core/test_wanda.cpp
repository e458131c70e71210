// Wanda's column statistic and scores, and the magnitude score, against straightforward double
// loops: the layerwrapper.py normalisation, and masks identical to a per-row argsort reference.
#include <QTest>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/prune/magnitude.h"
#include "core/prune/mask.h"
#include "core/prune/wanda.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

namespace {

constexpr int64_t kCols = 256, kRows = 64;

ps::SparsityPattern pattern(int n, int m) {
    ps::SparsityPattern p;
    p.n = n;
    p.m = m;
    return p;
}

// a_j = sum over all tokens of x_j^2, divided by the number of samples (the batch size of a 3-d
// input, 1 for a 2-d one), element by element in double.
std::vector<double> reference_norms(const std::vector<at::Tensor>& batches) {
    std::vector<double> sum(kCols, 0.0);
    int64_t samples = 0;
    for (const at::Tensor& x : batches) {
        const at::Tensor flat = x.to(at::kDouble).reshape({-1, kCols}).contiguous();
        const auto acc = flat.accessor<double, 2>();
        for (int64_t t = 0; t < flat.size(0); ++t)
            for (int64_t j = 0; j < kCols; ++j) sum[j] += acc[t][j] * acc[t][j];
        samples += x.dim() == 3 ? x.size(0) : 1;
    }
    for (double& v : sum) v /= static_cast<double>(samples);
    return sum;
}

// lib/layerwrapper.py's running form: scale the mean by n/(n+b), then add ||X_j||^2 / (n+b).
std::vector<double> layerwrapper_norms(const std::vector<at::Tensor>& batches) {
    std::vector<double> scaler(kCols, 0.0);
    double n = 0;
    for (const at::Tensor& x : batches) {
        const double b = x.dim() == 3 ? static_cast<double>(x.size(0)) : 1.0;
        const at::Tensor sq = x.to(at::kDouble).reshape({-1, kCols}).square().sum(0);
        for (int64_t j = 0; j < kCols; ++j) scaler[j] *= n / (n + b);
        n += b;
        for (int64_t j = 0; j < kCols; ++j) scaler[j] += sq[j].item<double>() / n;
    }
    return scaler;
}

// Calibration activations whose columns differ in scale by orders of magnitude, so that a_j matters.
std::vector<at::Tensor> calibration_batches() {
    const at::Tensor scale = at::randn({kCols}).mul(1.5).exp();
    std::vector<at::Tensor> batches;
    for (int i = 0; i < 6; ++i) batches.push_back(at::randn({1, 16, kCols}) * scale);
    batches.push_back(at::randn({3, 5, kCols}) * scale);  // 3 samples
    batches.push_back(at::randn({9, kCols}) * scale);     // one 2-d sample
    return batches;
}

}  // namespace

class TestWanda : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(20240); }

    void accumulator_matches_layerwrapper() {
        std::vector<at::Tensor> batches = calibration_batches();
        batches.push_back(at::randn({2, 4, kCols}).to(at::kBFloat16));  // low precision input
        ps::ColumnNormAccumulator acc(kCols);
        for (const at::Tensor& x : batches) acc.add(x);
        QCOMPARE(acc.samples(), int64_t(6 + 3 + 1 + 2));
        const at::Tensor a = acc.mean_squared_norms();
        QVERIFY(a.scalar_type() == at::kFloat);
        QVERIFY(a.sizes() == at::IntArrayRef({kCols}));
        const std::vector<double> direct = reference_norms(batches), running = layerwrapper_norms(batches);
        for (int64_t j = 0; j < kCols; ++j) {
            const double got = a[j].item<double>();
            QVERIFY2(std::abs(got - direct[j]) <= 1e-6 * direct[j], qPrintable(QString::number(j)));
            QVERIFY2(std::abs(got - running[j]) <= 1e-6 * running[j], qPrintable(QString::number(j)));
        }
        // the order of the batches does not matter
        ps::ColumnNormAccumulator reversed(kCols);
        for (auto it = batches.rbegin(); it != batches.rend(); ++it) reversed.add(*it);
        QVERIFY(at::allclose(reversed.mean_squared_norms(), a, 1e-7, 0.0));
        // batches summed apart and merged in their order give the sequential sums bit for bit
        ps::ColumnNormAccumulator merged(kCols);
        for (const at::Tensor& x : batches) {
            ps::ColumnNormAccumulator one(kCols);
            one.add(x);
            merged.merge(one);
        }
        QCOMPARE(merged.samples(), acc.samples());
        QVERIFY(at::equal(merged.mean_squared_norms(), a));
        QVERIFY(ps_test::error_of([&] { merged.merge(ps::ColumnNormAccumulator(kCols + 1)); }).contains("cannot merge"));
    }

    void wanda_masks_match_reference() {
        const std::vector<at::Tensor> batches = calibration_batches();
        const at::Tensor w = at::randn({kRows, kCols});
        ps::ColumnNormAccumulator acc(kCols);
        for (const at::Tensor& x : batches) acc.add(x);
        const at::Tensor scores = ps::wanda_scores(w, acc.mean_squared_norms());
        QVERIFY(scores.scalar_type() == at::kFloat);

        const std::vector<double> a = reference_norms(batches);
        at::Tensor ref = w.to(at::kDouble).abs().clone();
        for (int64_t j = 0; j < kCols; ++j) ref.select(1, j).mul_(std::sqrt(a[j]));
        QVERIFY(at::allclose(scores.to(at::kDouble), ref, 1e-5, 0.0));

        const at::Tensor unstructured = ps::select_pruned(scores, 0.5, {}, ps::CompareGroup::Row, "w");
        QVERIFY(at::equal(unstructured, ps_test::reference_row(ref, 0.5)));
        QVERIFY(unstructured.sum(1).eq(kCols / 2).all().item<bool>());
        const at::Tensor nm = ps::select_pruned(scores, 0.0, pattern(2, 4), ps::CompareGroup::Row, "w");
        QVERIFY(at::equal(nm, ps_test::reference_nm(ref, 2, 4)));
        // the activations matter: Wanda's mask is not the magnitude mask
        const at::Tensor magnitude = ps::select_pruned(ps::magnitude_scores(w), 0.5, {}, ps::CompareGroup::Row, "w");
        QVERIFY(!at::equal(unstructured, magnitude));
    }

    void accumulator_errors() {
        ps::ColumnNormAccumulator acc(8, "vit.blocks.0.fc1 input");
        const QString empty = ps_test::error_of([&] { acc.mean_squared_norms(); });
        QVERIFY2(empty.contains("vit.blocks.0.fc1 input"), qPrintable(empty));
        const QString wrong = ps_test::error_of([&] { acc.add(at::randn({2, 3, 7})); });
        QVERIFY2(wrong.contains("vit.blocks.0.fc1 input") && wrong.contains("8"), qPrintable(wrong));
        QVERIFY(!ps_test::error_of([&] { acc.add(at::ones({2, 8}, at::kLong)); }).isEmpty());
        QVERIFY(!ps_test::error_of([] { ps::ColumnNormAccumulator(0); }).isEmpty());
        acc.add(at::full({1, 8}, std::numeric_limits<float>::infinity()));
        QVERIFY(!ps_test::error_of([&] { acc.mean_squared_norms(); }).isEmpty());
    }

    void wanda_score_errors_name_the_tensor() {
        const std::string name = "llm.layers.0.self_attn.q_proj.weight";
        const QString rank = ps_test::error_of([&] { ps::wanda_scores(at::randn({8}), at::ones({8}), name); });
        QVERIFY2(rank.contains(QString::fromStdString(name)), qPrintable(rank));
        const QString cols = ps_test::error_of([&] { ps::wanda_scores(at::randn({4, 8}), at::ones({6}), name); });
        QVERIFY2(cols.contains(QString::fromStdString(name)), qPrintable(cols));
        const QString neg = ps_test::error_of([&] { ps::wanda_scores(at::randn({4, 8}), -at::ones({8}), name); });
        QVERIFY2(neg.contains(QString::fromStdString(name)), qPrintable(neg));
    }

    void magnitude_scores_are_abs_in_float() {
        const at::Tensor w = at::randn({12, 40}).to(at::kBFloat16);
        const at::Tensor s = ps::magnitude_scores(w);
        QVERIFY(s.scalar_type() == at::kFloat);
        QVERIFY(at::equal(s, w.to(at::kFloat).abs()));
        const at::Tensor dense = at::randn({12, 40});
        const at::Tensor mask = ps::select_pruned(ps::magnitude_scores(dense), 0.6, {}, ps::CompareGroup::Matrix, "w");
        QVERIFY(at::equal(mask, ps_test::reference_matrix(dense.abs(), 0.6)));
        const QString msg = ps_test::error_of([] { ps::magnitude_scores(at::randn({2, 3, 4}), "vit.patch_embed.weight"); });
        QVERIFY2(msg.contains("vit.patch_embed.weight"), qPrintable(msg));
    }

    void cuda_matches_cpu() {
        if (!at::hasCUDA()) QSKIP("no CUDA device");
        const std::vector<at::Tensor> batches = calibration_batches();
        ps::ColumnNormAccumulator cpu(kCols), gpu(kCols);
        for (const at::Tensor& x : batches) {
            cpu.add(x);
            gpu.add(x.to(at::kCUDA));
        }
        const at::Tensor a = gpu.mean_squared_norms();
        QVERIFY(a.is_cuda());
        QVERIFY(at::allclose(a.cpu(), cpu.mean_squared_norms(), 1e-6, 0.0));
        const at::Tensor w = at::randn({kRows, kCols});
        const at::Tensor s = ps::wanda_scores(w.to(at::kCUDA), a);
        QVERIFY(s.is_cuda());
        QVERIFY(at::allclose(s.cpu(), ps::wanda_scores(w, cpu.mean_squared_norms()), 1e-5, 0.0));
    }
};

QTEST_APPLESS_MAIN(TestWanda)
#include "test_wanda.moc"
