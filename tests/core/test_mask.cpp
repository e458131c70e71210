// select_pruned against a direct argsort-and-take-k reference: exact counts, the lowest scores, the
// stable tie rule, N:M groups, and the errors for bad sparsities, patterns and shapes.
#include <QTest>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/prune/mask.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

namespace {

ps::SparsityPattern pattern(int n, int m) {
    ps::SparsityPattern p;
    p.n = n;
    p.m = m;
    return p;
}

// Distinct float scores (a permutation of 0..numel-1) so the lowest k are unambiguous.
at::Tensor distinct_scores(int64_t rows, int64_t cols) {
    return at::randperm(rows * cols, at::kLong).to(at::kFloat).view({rows, cols});
}

// A bool tensor from 0/1 values (at::tensor has no bool overload on the CPU).
at::Tensor bools(std::initializer_list<int64_t> values) { return at::tensor(values, at::kLong).to(at::kBool); }

const std::vector<std::vector<int64_t>> kShapes = {{7, 16}, {64, 256}, {3, 1000}};
const std::vector<double> kSparsities = {0.0, 0.1, 0.3, 0.5, 0.7, 0.95};

}  // namespace

class TestMask : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(1234); }

    void row_counts_and_reference() {
        for (const auto& shape : kShapes) {
            const at::Tensor scores = distinct_scores(shape[0], shape[1]);
            for (double s : kSparsities) {
                const at::Tensor mask = ps::select_pruned(scores, s, {}, ps::CompareGroup::Row, "w");
                QVERIFY(mask.scalar_type() == at::kBool);
                QVERIFY(mask.sizes() == scores.sizes());
                const at::Tensor per_row = mask.sum(1);
                QVERIFY2(per_row.eq(ps_test::floor_count(s, shape[1])).all().item<bool>(), qPrintable(QString::number(s)));
                QVERIFY(at::equal(mask, ps_test::reference_row(scores, s)));
            }
        }
    }

    void matrix_counts_and_reference() {
        for (const auto& shape : kShapes) {
            const at::Tensor scores = distinct_scores(shape[0], shape[1]);
            for (double s : kSparsities) {
                const at::Tensor mask = ps::select_pruned(scores, s, {}, ps::CompareGroup::Matrix, "w");
                QCOMPARE(mask.sum().item<int64_t>(), ps_test::floor_count(s, scores.numel()));
                QVERIFY(at::equal(mask, ps_test::reference_matrix(scores, s)));
            }
        }
        // the matrix group is not the row group: scores increasing by row prune whole rows first
        const at::Tensor rising = at::arange(32, at::kFloat).view({4, 8});
        const at::Tensor m = ps::select_pruned(rising, 0.5, {}, ps::CompareGroup::Matrix, "w");
        QVERIFY(m.slice(0, 0, 2).all().item<bool>());
        QVERIFY(!m.slice(0, 2, 4).any().item<bool>());
    }

    void nm_counts_and_reference() {
        const std::vector<std::pair<int, int>> patterns = {{2, 4}, {4, 8}, {1, 4}, {3, 8}};
        for (const auto& shape : kShapes) {
            for (const auto& [n, m] : patterns) {
                const at::Tensor scores = distinct_scores(shape[0], shape[1]);
                // sparsity and group are ignored for N:M
                for (auto group : {ps::CompareGroup::Row, ps::CompareGroup::Matrix}) {
                    const at::Tensor mask = ps::select_pruned(scores, 0.0, pattern(n, m), group, "w");
                    QVERIFY(mask.view({shape[0], shape[1] / m, m}).sum(-1).eq(n).all().item<bool>());
                    QVERIFY(at::equal(mask, ps_test::reference_nm(scores, n, m)));
                    QVERIFY(std::abs(ps::mask_sparsity(mask) - double(n) / m) < 1e-12);
                }
            }
        }
    }

    void sparsity_zero_prunes_nothing() {
        const at::Tensor scores = at::randn({9, 12});
        for (auto group : {ps::CompareGroup::Row, ps::CompareGroup::Matrix})
            QVERIFY(!ps::select_pruned(scores, 0.0, {}, group, "w").any().item<bool>());
        QCOMPARE(ps::mask_sparsity(ps::select_pruned(scores, 0.0, {}, ps::CompareGroup::Row, "w")), 0.0);
    }

    void ties_go_to_the_lower_index() {
        const at::Tensor row = at::tensor({1.f, 0.f, 1.f, 1.f, 0.f, 2.f}).view({1, 6});
        // k = 3: both zeros, then the first of the three ones
        const at::Tensor expect = bools({1, 1, 0, 0, 1, 0}).view({1, 6});
        QVERIFY(at::equal(ps::select_pruned(row, 0.5, {}, ps::CompareGroup::Row, "w"), expect));
        const at::Tensor flat = at::ones({2, 3});  // Matrix, k = 3: the whole first row
        const at::Tensor first_row = bools({1, 1, 1, 0, 0, 0}).view({2, 3});
        QVERIFY(at::equal(ps::select_pruned(flat, 0.5, {}, ps::CompareGroup::Matrix, "w"), first_row));
        const at::Tensor groups = at::tensor({5.f, 5.f, 5.f, 5.f, 7.f, 1.f, 7.f, 1.f}).view({1, 8});  // 2:4
        const at::Tensor nm = bools({1, 1, 0, 0, 0, 1, 0, 1}).view({1, 8});
        QVERIFY(at::equal(ps::select_pruned(groups, 0.0, pattern(2, 4), ps::CompareGroup::Row, "w"), nm));
    }

    // Slices of 256 entries or more take the histogram route: ties, both zeros, negatives, infinities,
    // and values only ulps apart (all in one bin), for k from the ends to the middle, per row and
    // over the whole matrix, against a stable argsort.
    void long_slices_match_a_stable_sort() {
        const float inf = std::numeric_limits<float>::infinity();
        const at::Tensor few = at::tensor({-inf, -2.5f, -1.f, -0.f, 0.f, 1e-30f, 0.5f, 3.f, inf});
        const std::vector<at::Tensor> cases = {
            few.index({at::randint(9, {5, 2048}, at::kLong)}),
            at::randn({4, 256}),
            1.f + at::randint(64, {3, 4096}).to(at::kFloat) * std::ldexp(1.f, -23),
            at::randn({2, 1000}).abs_().mul_(1e-3f),
        };
        auto stable_lowest = [](const at::Tensor& s, int64_t k) {
            const at::Tensor order = at::argsort(s, /*stable=*/true, -1);
            return at::zeros(s.sizes(), at::kBool).scatter_(-1, order.narrow(-1, 0, k), true);
        };
        for (const at::Tensor& s : cases) {
            const int64_t n = s.size(1);
            for (int64_t k : {int64_t(1), int64_t(2), n / 3, n / 2, n - 1}) {
                const QString what = QString("%1 x %2, k = %3").arg(s.size(0)).arg(n).arg(k);
                QVERIFY2(at::equal(ps::lowest_k(s, k), stable_lowest(s, k)), qPrintable(what));
                const at::Tensor flat = s.reshape({-1});
                QVERIFY2(at::equal(ps::lowest_k(flat, k * s.size(0)), stable_lowest(flat, k * s.size(0))), qPrintable(what));
            }
        }
    }

    // apply_mask and nonzero_count give masked_fill's and count_nonzero's results bit for bit: -0
    // and NaN weights, pruned infinities, float32 on the fast path (large enough to run in parallel)
    // and double or transposed tensors on torch's.
    void apply_mask_and_nonzero_count_match_torch() {
        const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
        at::Tensor w = at::randn({600, 1001});
        w[0][0] = -0.f;
        w[1][1] = nan;
        w[2][2] = 0.f;
        w[3][3] = inf;
        w[4][4] = -0.f;
        const at::Tensor mask = at::rand({600, 1001}) < 0.5;
        mask[1][1] = false;
        mask[3][3] = true;
        mask[4][4] = false;
        const at::Tensor before = w.clone();
        for (const auto& [weight, m] : std::vector<std::pair<at::Tensor, at::Tensor>>{
                 {w, mask}, {w.to(at::kDouble), mask}, {w.t(), mask.t()}, {w.slice(1, 0, 37), mask.slice(1, 0, 37)}}) {
            const at::Tensor got = ps::apply_mask(weight, m), expect = weight.masked_fill(m, 0);
            QVERIFY(got.scalar_type() == weight.scalar_type() && got.sizes() == weight.sizes());
            const at::ScalarType bits = weight.scalar_type() == at::kDouble ? at::kLong : at::kInt;
            QVERIFY(at::equal(got.contiguous().view(bits), expect.contiguous().view(bits)));
            QCOMPARE(ps::nonzero_count(got), expect.count_nonzero().item<int64_t>());
            QCOMPARE(ps::nonzero_count(weight), weight.count_nonzero().item<int64_t>());
        }
        QVERIFY(at::equal(w.view(at::kInt), before.view(at::kInt)));  // the weight itself is not changed
        QCOMPARE(ps::nonzero_count(at::zeros({0}, at::kFloat)), int64_t(0));
    }

    void half_precision_scores() {
        const at::Tensor scores = distinct_scores(8, 64);
        const at::Tensor half = scores.to(at::kHalf);  // integers below 2048 are exact in half
        QVERIFY(at::equal(ps::select_pruned(half, 0.5, {}, ps::CompareGroup::Row, "w"), ps_test::reference_row(scores, 0.5)));
    }

    void mask_sparsity_of_masks_and_weights() {
        QCOMPARE(ps::mask_sparsity(bools({1, 0, 0, 0})), 0.25);
        QCOMPARE(ps::mask_sparsity(at::tensor({0.f, 1.f, 0.f, -2.f})), 0.5);
        QCOMPARE(ps::mask_sparsity(at::zeros({0, 4}, at::kBool)), 0.0);
        const at::Tensor w = at::randn({16, 32});
        const at::Tensor mask = ps::select_pruned(w.abs(), 0.75, {}, ps::CompareGroup::Row, "w");
        QCOMPARE(ps::mask_sparsity(w.masked_fill(mask, 0.0)), 0.75);
    }

    void compare_group_names() {
        QVERIFY(ps::parse_compare_group("row") == ps::CompareGroup::Row);
        QVERIFY(ps::parse_compare_group("matrix") == ps::CompareGroup::Matrix);
        QCOMPARE(ps::compare_group_name(ps::CompareGroup::Matrix), std::string("matrix"));
        QVERIFY(ps_test::error_of([] { ps::parse_compare_group("block"); }).contains("block"));
    }

    void bad_input_names_the_tensor() {
        const std::string name = "llm.layers.3.mlp.up_proj.weight";
        const at::Tensor scores = at::randn({4, 8});
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (double s : {1.0, -0.1, nan, 1.5}) {
            const QString msg = ps_test::error_of([&] { ps::select_pruned(scores, s, {}, ps::CompareGroup::Row, name); });
            QVERIFY2(msg.contains(QString::fromStdString(name)), qPrintable("sparsity " + QString::number(s) + ": " + msg));
        }
        const at::Tensor six = at::randn({4, 6});
        const QString nm = ps_test::error_of([&] { ps::select_pruned(six, 0.0, pattern(2, 4), ps::CompareGroup::Row, name); });
        QVERIFY2(nm.contains(QString::fromStdString(name)), qPrintable(nm));
        for (const at::Tensor& bad : {at::randn({8}), at::randn({2, 4, 8}), at::scalar_tensor(1.0)}) {
            const QString msg = ps_test::error_of([&] { ps::select_pruned(bad, 0.5, {}, ps::CompareGroup::Row, name); });
            QVERIFY2(msg.contains(QString::fromStdString(name)) && msg.contains("2-d"), qPrintable(msg));
        }
        at::Tensor with_nan = at::randn({4, 8});
        with_nan[1][2] = nan;
        QVERIFY(ps_test::error_of([&] { ps::select_pruned(with_nan, 0.5, {}, ps::CompareGroup::Row, name); })
                    .contains(QString::fromStdString(name)));
        QVERIFY(!ps_test::error_of([&] { ps::select_pruned(at::arange(8).view({2, 4}), 0.5, {}, ps::CompareGroup::Row, name); })
                     .isEmpty());  // integer scores
    }

    void cuda_matches_cpu() {
        if (!at::hasCUDA()) QSKIP("no CUDA device");
        const at::Tensor scores = distinct_scores(64, 256);
        const at::Tensor gpu = scores.to(at::kCUDA);
        QVERIFY(at::equal(ps::select_pruned(gpu, 0.5, {}, ps::CompareGroup::Row, "w").cpu(), ps_test::reference_row(scores, 0.5)));
        QVERIFY(at::equal(ps::select_pruned(gpu, 0.5, {}, ps::CompareGroup::Matrix, "w").cpu(),
                          ps_test::reference_matrix(scores, 0.5)));
        QVERIFY(at::equal(ps::select_pruned(gpu, 0.0, pattern(2, 4), ps::CompareGroup::Row, "w").cpu(),
                          ps_test::reference_nm(scores, 2, 4)));
        const at::Tensor ties = at::zeros({4, 16}, at::kCUDA);  // stable on the device too
        const at::Tensor m = ps::select_pruned(ties, 0.25, {}, ps::CompareGroup::Row, "w").cpu();
        QVERIFY(m.slice(1, 0, 4).all().item<bool>() && !m.slice(1, 4, 16).any().item<bool>());
    }
};

QTEST_APPLESS_MAIN(TestMask)
#include "test_mask.moc"
