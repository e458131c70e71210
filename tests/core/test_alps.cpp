// core/prune/alps.cpp against tests/python/alps_reference.py (the authors' ADMM and conjugate-gradient
// refit, written in their [in, out] layout) on random layers with correlated inputs: the same masks
// and weights within 1e-5, unstructured per matrix and per row, 2:4 and 4:8, each with its exact
// count of zeros; the ADMM support reconstructs the layer's outputs better than the first support
// refit alone (no ADMM steps). Through the pipeline on the default model: a Plan's options reach it,
// the masks keep their exact counts and the pruned weights are zero there; bad options are refused.
#include <QTemporaryDir>
#include <QTest>

#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/alps.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/registry.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

namespace {

struct Problem {
    at::Tensor w, x, gram;
};

// 24 outputs over 64 inputs whose features are correlated (mixed from 16 sources plus noise).
Problem random_problem(uint64_t seed) {
    at::manual_seed(seed);
    Problem p;
    p.w = at::randn({24, 64});
    p.x = at::matmul(at::randn({300, 16}), at::randn({16, 64})) + 0.3 * at::randn({300, 64});
    p.gram = (2.0 / 300) * at::matmul(p.x.t(), p.x);
    return p;
}

double output_error(const Problem& p, const at::Tensor& pruned) {
    return (at::matmul(p.x, (p.w - pruned).t())).square().sum().item<double>() / at::matmul(p.x, p.w.t()).square().sum().item<double>();
}

}  // namespace

class TestAlps : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void equals_the_reference_data() {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<double>("sparsity");
        QTest::addColumn<QString>("group");
        QTest::newRow("50% per matrix") << "unstructured" << 0.5 << "matrix";
        QTest::newRow("70% per matrix") << "unstructured" << 0.7 << "matrix";
        QTest::newRow("60% per row") << "unstructured" << 0.6 << "row";
        QTest::newRow("2:4") << "2:4" << 0.5 << "row";
        QTest::newRow("4:8") << "4:8" << 0.5 << "row";
    }

    void equals_the_reference() {
        QFETCH(QString, pattern);
        QFETCH(double, sparsity);
        QFETCH(QString, group);
        const ps::SparsityPattern pat = ps::SparsityPattern::parse(pattern.toStdString());
        const ps::CompareGroup g = ps::parse_compare_group(group.toStdString());
        const ps::AlpsOptions o;
        for (uint64_t seed : {1, 2}) {
            const Problem p = random_problem(seed);
            const ps::PruneOutcome got = ps::alps_prune(p.w, p.gram, sparsity, pat, g, o, "w");
            const QString in = tmp_.filePath("in.safetensors"), out = tmp_.filePath("out.safetensors");
            ps::save_safetensors(in.toStdString(), {{"weight", p.w}, {"gram", p.gram}});
            const auto py = ps_test::run_python(
                "alps_reference.py", {in, out, QString::number(sparsity), group, QString::number(pat.n), QString::number(pat.m),
                                      QString::number(o.rho), QString::number(o.iterations), QString::number(o.update_every),
                                      QString::number(o.settle_after), QString::number(o.cg_iterations), QString::number(o.percdamp)});
            QVERIFY2(py.exit_code == 0, py.err.constData());
            std::map<std::string, at::Tensor> want;
            for (auto& [name, t] : ps::load_safetensors(out.toStdString())) want[name] = t;
            const at::Tensor want_mask = want.at("mask").to(at::kBool);
            QVERIFY2(at::equal(got.mask, want_mask), qPrintable(QString("seed %1: %2 entries differ").arg(seed).arg((got.mask != want_mask).sum().item<int64_t>())));
            const double d = (got.weight - want.at("weight")).abs().max().item<double>();
            QVERIFY2(d <= 1e-5, qPrintable(QString("seed %1: weights differ by %2").arg(seed).arg(d)));
            QVERIFY(got.weight.masked_select(got.mask).eq(0).all().item<bool>());
            if (pat.is_nm())
                QVERIFY(at::equal(got.mask.reshape({24, -1, pat.m}).sum(-1), at::full({24, 64 / pat.m}, pat.n, at::kLong)));
            else if (g == ps::CompareGroup::Matrix)
                QCOMPARE(got.mask.sum().item<int64_t>(), ps_test::floor_count(sparsity, 24 * 64));
            else
                QVERIFY(at::equal(got.mask.sum(1), at::full({24}, ps_test::floor_count(sparsity, 64), at::kLong)));
            // ADMM's support against the first one refit alone.
            ps::AlpsOptions first = o;
            first.iterations = 0;
            const double admm = output_error(p, got.weight), refit = output_error(p, ps::alps_prune(p.w, p.gram, sparsity, pat, g, first, "w").weight);
            QVERIFY2(admm < refit, qPrintable(QString("seed %1: ADMM %2, first support refit %3").arg(seed).arg(admm).arg(refit)));
            if (seed == 1) qInfo("relative output error: ADMM %.4f, first support refit %.4f; reference weights within %.2g", admm, refit, d);
        }
    }

    void through_the_pipeline() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Plan p = ps::Plan::from_json({{"method", "alps"}, {"sparsity", 0.6}, {"targets", {".*layer\\.0\\..*"}},
                                                {"calibration", {{"samples", 16}, {"batch_size", 8}}}, {"alps", {{"iterations", 30}}}},
                                               "p.json");
        QCOMPARE(p.method_options("alps").at("iterations").get<int64_t>(), int64_t{30});
        const auto calib = ps::calibration_batches(*model, p.calibration, 0);
        const ps::SparsityMap targets = ps::allocate(p, model->map());
        const ps::PruneResult r = ps::prune_model(*model, p, targets, calib, {});
        QCOMPARE(r.masks.size(), targets.size());
        for (const auto& [name, mask] : r.masks) {
            QCOMPARE(mask.sum().item<int64_t>(), ps_test::floor_count(0.6, mask.numel()));  // one budget per matrix
            QVERIFY(model->weights().get(name + ".weight").masked_select(mask.to(model->weights().device())).eq(0).all().item<bool>());
        }
        const QString bad = ps_test::error_of([] { ps::Plan::from_json({{"method", "alps"}, {"alps", {{"rho", 0}}}}, "p.json"); });
        QVERIFY2(bad.startsWith("p.json: alps.rho: "), qPrintable(bad));
        const QString step = ps_test::error_of([] { ps::Plan::from_json({{"method", "alps"}, {"alps", {{"update_every", 0}}}}, "p.json"); });
        QVERIFY2(step.startsWith("p.json: alps.update_every: "), qPrintable(step));
    }
};

QTEST_GUILESS_MAIN(TestAlps)
#include "test_alps.moc"
