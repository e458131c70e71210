// core/model/semi_structured.cpp: which Linears take the semi-structured sparse kernel (every
// refusal on plain values, so it is checked without a GPU), the 2:4 test against a loop over the
// groups, a 2:4 mask from the pruning code passing it, no kernel installed on a CPU model; on a
// CUDA device, the kernel's product equals the dense one on 2:4 weights.
#include <QTest>

#include "core/model/semi_structured.h"
#include "core/model/vlm.h"
#include "core/prune/mask.h"
#include "core/prune/pattern.h"

namespace {

// At most two nonzeros in each group of four consecutive entries of every row, by loops.
bool two_four_by_hand(const at::Tensor& w) {
    if (w.dim() != 2 || w.size(1) % 4 != 0) return false;
    const at::Tensor c = w.to(at::kDouble).contiguous();
    const double* p = c.data_ptr<double>();
    for (int64_t r = 0; r < c.size(0); ++r)
        for (int64_t g = 0; g < c.size(1); g += 4) {
            int nonzero = 0;
            for (int64_t j = 0; j < 4; ++j) nonzero += p[r * c.size(1) + g + j] != 0.0;
            if (nonzero > 2) return false;
        }
    return true;
}

}  // namespace

class TestSemiStructured : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void refusals_data() {
        QTest::addColumn<bool>("cuda");
        QTest::addColumn<int>("major");
        QTest::addColumn<bool>("kernels");
        QTest::addColumn<int>("dtype");
        QTest::addColumn<qlonglong>("out");
        QTest::addColumn<qlonglong>("in");
        QTest::addColumn<bool>("two_four");
        QTest::addColumn<QString>("expected");
        const int bf16 = static_cast<int>(at::kBFloat16), f32 = static_cast<int>(at::kFloat);
        QTest::newRow("takes it") << true << 8 << true << bf16 << 4096LL << 11008LL << true << "";
        QTest::newRow("float32, multiples of 8") << true << 9 << true << f32 << 24LL << 40LL << true << "";
        QTest::newRow("cpu") << false << 0 << true << bf16 << 4096LL << 4096LL << true << "not on a CUDA device";
        QTest::newRow("no cuSPARSELt") << true << 8 << false << bf16 << 4096LL << 4096LL << true << "built without cuSPARSELt";
        QTest::newRow("Turing") << true << 7 << true << bf16 << 4096LL << 4096LL << true << "compute capability is below 8.0";
        QTest::newRow("float64") << true << 8 << true << static_cast<int>(at::kDouble) << 4096LL << 4096LL << true
                                 << "dtype Double has no semi-structured kernel";
        QTest::newRow("odd rows") << true << 8 << true << bf16 << 4100LL << 4096LL << true << "shape [4100, 4096] is not a multiple of 16";
        QTest::newRow("narrow") << true << 8 << true << bf16 << 4096LL << 16LL << true << "at least 32 wide";
        QTest::newRow("dense weight") << true << 8 << true << bf16 << 4096LL << 4096LL << false << "the weight is not 2:4 sparse";
    }
    void refusals() {
        QFETCH(bool, cuda);
        QFETCH(int, major);
        QFETCH(bool, kernels);
        QFETCH(int, dtype);
        QFETCH(qlonglong, out);
        QFETCH(qlonglong, in);
        QFETCH(bool, two_four);
        QFETCH(QString, expected);
        ps::SemiStructuredQuery q;
        q.cuda = cuda;
        q.compute_major = major;
        q.kernels = kernels;
        q.dtype = static_cast<at::ScalarType>(dtype);
        q.out = out;
        q.in = in;
        q.two_four = two_four;
        const QString why = QString::fromStdString(ps::semi_structured_refusal(q));
        if (expected.isEmpty()) QVERIFY2(why.isEmpty(), qPrintable(why));
        else QVERIFY2(why.contains(expected), qPrintable(why));
    }

    void two_four_matches_loops() {
        at::manual_seed(3);
        const at::Tensor scores = at::rand({24, 64});
        const at::Tensor pruned = ps::apply_mask(at::randn({24, 64}), ps::select_pruned(scores, 0.5, ps::SparsityPattern::parse("2:4"),
                                                                                      ps::CompareGroup::Row, "w"));
        QVERIFY(ps::is_two_four(pruned));
        QVERIFY(two_four_by_hand(pruned));
        at::Tensor three = pruned.clone();
        three.index_put_({5, at::indexing::Slice(8, 12)}, 1.0);  // one group of four all nonzero
        QVERIFY(!ps::is_two_four(three) && !two_four_by_hand(three));
        for (int trial = 0; trial < 20; ++trial) {  // random zero patterns, either answer
            const at::Tensor w = at::randn({8, 16}) * (at::rand({8, 16}) < 0.45 + 0.01 * trial).to(at::kFloat);
            QCOMPARE(ps::is_two_four(w), two_four_by_hand(w));
        }
        QVERIFY(!ps::is_two_four(at::zeros({4, 6})));  // a row not in groups of four
        const ps::SemiStructuredQuery q = ps::semi_structured_query(pruned);
        QVERIFY(!q.cuda && q.two_four && q.out == 24 && q.in == 64);
        QVERIFY(QString::fromStdString(ps::semi_structured_refusal(q)).contains("not on a CUDA device"));
    }

    void dense_on_the_cpu() {
        ps::LoadOptions opt;
        opt.sparse_kernels = true;
        auto model = ps::Vlm::load(PS_DEFAULT_VLM, opt);
        QVERIFY(!model->weights().has_linear_adapter());
        QVERIFY(!ps::use_semi_structured_kernels(model->weights()));
    }

    void kernel_equals_dense_on_cuda() {
        if (!at::hasCUDA()) QSKIP("no CUDA device");
        at::manual_seed(5);
        const at::Tensor w = ps::apply_mask(at::randn({256, 512}),
                                            ps::select_pruned(at::rand({256, 512}), 0.5, ps::SparsityPattern::parse("2:4"), ps::CompareGroup::Row, "w"))
                                 .to(at::kCUDA, at::kBFloat16);
        const at::Tensor bias = at::randn({256}).to(at::kCUDA, at::kBFloat16);
        const ps::SemiStructuredQuery q = ps::semi_structured_query(w);
        if (!ps::semi_structured_refusal(q).empty()) QSKIP(ps::semi_structured_refusal(q).c_str());
        const at::Tensor x = at::randn({3, 37, 512}).to(at::kCUDA, at::kBFloat16);  // rows padded to 16 inside
        const at::Tensor got = ps::semi_structured_linear(at::_cslt_compress(w), x, bias, 256).to(at::kFloat);
        const at::Tensor want = at::linear(x.to(at::kFloat), w.to(at::kFloat), bias.to(at::kFloat));
        QCOMPARE(got.sizes(), want.sizes());
        const double rel = ((got - want).norm() / want.norm()).item<double>();
        qInfo("semi-structured vs dense: relative difference %.3g", rel);
        QVERIFY(rel < 1e-2);  // bfloat16 products against float32
    }
};

QTEST_GUILESS_MAIN(TestSemiStructured)
#include "test_semi_structured.moc"
