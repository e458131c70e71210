// The upper Cholesky factor of H⁻¹: bit for bit the torch ops SparseGPT's reference composes
// (cholesky, cholesky_inverse, cholesky upper), for symmetric and slightly asymmetric H of several
// sizes; in H's own memory when torch exports LAPACK (no [n, n] copy: the peak stays under one
// such matrix), through the torch ops otherwise; U is upper triangular and UᵀU inverts H; a matrix
// that is not positive definite is reported, not thrown.
#include <QTest>

#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/prune/inverse_cholesky.h"
#include "core/prune/torch_symbol.h"
#include "core/runtime.h"

namespace {

constexpr int64_t kMiB = 1024 * 1024;

// 2/k XᵀX over k > n random rows with uneven columns, dampened by 1 % of its mean diagonal.
at::Tensor spd(int64_t n, uint64_t seed) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor x = at::randn({n + 16, n}, gen) * (at::rand({n}, gen) + 0.5);
    at::Tensor h = at::matmul(x.t(), x) * (2.0 / static_cast<double>(n + 16));
    h.diagonal().add_(h.diagonal().mean() * 0.01);
    return h;
}

at::Tensor reference(const at::Tensor& h) {
    return at::linalg_cholesky(at::cholesky_inverse(at::linalg_cholesky(h)), /*upper=*/true);
}

bool lapack_exported() { return ps::torch_cpu_symbol("spotrf_") && ps::torch_cpu_symbol("spotri_"); }

}  // namespace

class TestInverseCholesky : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void symbolLookup() {
        QVERIFY(ps::torch_cpu_symbol("prunestudio_no_such_symbol") == nullptr);
        qInfo("torch exports LAPACK: %s", lapack_exported() ? "yes (factored in place)" : "no (torch ops)");
    }

    void matchesTheTorchOpsBitForBit() {
        for (int64_t n : {1, 7, 128, 300, 1024}) {
            for (bool asymmetric : {false, true}) {
                at::Tensor h = spd(n, static_cast<uint64_t>(n) * 2 + asymmetric);
                // A Gram matrix summed in another order is symmetric only to rounding.
                if (asymmetric) h.add_(at::triu(at::ones_like(h), 1) * h.abs().max() * 1e-6);
                const at::Tensor expect = reference(h);
                at::Tensor given = h.clone();
                void* const memory = given.data_ptr();
                const ps::InverseCholesky got = ps::inverse_cholesky_upper(given);
                const QByteArray what = QString("n %1%2").arg(n).arg(asymmetric ? " asymmetric" : "").toUtf8();
                QVERIFY2(got.failed == ps::InverseCholesky::Failed::None, what);
                QVERIFY2(at::equal(got.upper, expect), what);
                QVERIFY2((got.upper.data_ptr() == memory) == lapack_exported(), what);
                // Independently of torch's ops: upper triangular, and UᵀU H = I.
                QVERIFY2(at::equal(got.upper, got.upper.triu()), what);
                const at::Tensor ident = at::matmul(at::matmul(got.upper.t(), got.upper).to(at::kDouble), h.to(at::kDouble));
                const double off = (ident - at::eye(n, at::kDouble)).abs().max().item<double>();
                QVERIFY2(off < 1e-2, qPrintable(QString("%1: |UᵀU H - I| = %2").arg(what.constData()).arg(off)));
            }
        }
    }

    void otherInputsGoThroughTheTorchOpsUntouched() {
        const at::Tensor h = spd(96, 5);
        const at::Tensor as_double = h.to(at::kDouble), before_double = as_double.clone();
        const ps::InverseCholesky d = ps::inverse_cholesky_upper(as_double);
        QVERIFY(at::equal(as_double, before_double));
        QVERIFY(at::equal(d.upper, reference(as_double)));
        // Not contiguous: the transpose of a slightly asymmetric matrix.
        const at::Tensor asym = h + at::triu(at::ones_like(h), 1) * 1e-4;
        const at::Tensor strided = asym.t(), before = strided.clone();
        const ps::InverseCholesky s = ps::inverse_cholesky_upper(strided);
        QVERIFY(at::equal(strided, before));
        QVERIFY(at::equal(s.upper, reference(strided)));
    }

    void notPositiveDefiniteIsReported() {
        const at::Tensor indefinite = at::tensor({1.0f, 2.0f, 2.0f, 1.0f}).reshape({2, 2});
        for (const at::Tensor& h : {indefinite.clone(), indefinite.to(at::kDouble), -at::eye(3)}) {
            const ps::InverseCholesky got = ps::inverse_cholesky_upper(h);
            QVERIFY(got.failed == ps::InverseCholesky::Failed::Factor);
            QVERIFY(!got.upper.defined());
        }
    }

    // What factoring in place is for: a 16 MiB H costs no second 16 MiB matrix.
    void inPlaceFactoringMakesNoCopy() {
        QVERIFY2(lapack_exported(), "the torch wheel PruneStudio builds on exports spotrf_ and spotri_");
        at::Tensor h = spd(2048, 11);
        (void)ps::inverse_cholesky_upper(spd(64, 12));  // the routines' code and workspaces paged in
        ps::reset_peak_resident();
        const int64_t start = ps::resident_bytes();
        const ps::InverseCholesky got = ps::inverse_cholesky_upper(h);
        QVERIFY(got.failed == ps::InverseCholesky::Failed::None);
        const int64_t growth = ps::peak_resident_bytes() - start;
        QVERIFY2(growth < 8 * kMiB, qPrintable(QString("peak grew by %1 MiB").arg(growth / double(kMiB))));
    }
};

QTEST_APPLESS_MAIN(TestInverseCholesky)
#include "test_inverse_cholesky.moc"
