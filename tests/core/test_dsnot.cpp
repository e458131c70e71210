// core/prune/dsnot.cpp against a reference written here with plain loops (per row: the initial
// mask of the reference selections, the error as a running sum, candidates found by scanning
// instead of sorting): the same masks on random layers for Wanda's and magnitude's initial masks,
// unstructured (row and matrix comparison) and 2:4 / 4:8, each row keeping its count (every group
// its N); no cycles is the initial method's mask; the refinement shrinks the rows' expected
// output change. The accumulator's per-sample sums and token variances equal a direct computation.
// Through the pipeline on the default model, the masks equal the reference fed statistics taken
// by a plain forward pass, the attention Linears refined and the MLP's left at Wanda's mask
// (layers "attention"), every Linear refined with "all"; options out of range are refused.
#include <QTest>

#include <cmath>
#include <vector>

#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/dsnot.h"
#include "core/prune/magnitude.h"
#include "core/prune/pipeline.h"
#include "core/prune/registry.h"
#include "core/prune/wanda.h"
#include "tests/core/mask_reference.h"
#include "tests/core/model_parity.h"
#include "tests/test_support.h"

namespace {

struct Layer {
    at::Tensor w, sq, sums, vars;
};

Layer random_layer(int64_t rows, int64_t cols, uint64_t seed) {
    at::manual_seed(seed);
    Layer l;
    l.w = at::randn({rows, cols});
    const at::Tensor x = at::randn({8, 5, cols}) * at::rand({cols}) * 3 + at::randn({cols});
    const at::Tensor flat = x.reshape({-1, cols}).to(at::kDouble);
    l.sq = (flat.square().sum(0) / 8).to(at::kFloat);
    l.sums = (flat.sum(0) / 8).to(at::kFloat);
    l.vars = flat.var(0, /*unbiased=*/false).to(at::kFloat);
    return l;
}

// One row of DSnoT as the header states it, in plain loops over float64 values.
void reference_row_refine(std::vector<bool>& pruned, const std::vector<double>& c, const std::vector<double>& grow_score,
                          const std::vector<double>& importance, const ps::DsnotOptions& o, int m) {
    const int64_t cols = static_cast<int64_t>(c.size());
    double eps = 0;
    for (int64_t j = 0; j < cols; ++j)
        if (pruned[j]) eps += c[j];
    const std::vector<bool> initially = pruned;
    std::vector<bool> grown(cols, false), taken(cols, false);
    const bool positive_start = eps > 0;
    for (int64_t t = 0; t < o.cycles && std::abs(eps) > o.threshold; ++t) {
        // The initially pruned weight not grown yet with the largest (eps > 0) or smallest growing
        // score; ties: the higher column for the largest, the lower for the smallest.
        int64_t r = -1;
        for (int64_t j = 0; j < cols; ++j) {
            if (!initially[j] || grown[j]) continue;
            if (r < 0 || (eps > 0 ? grow_score[j] >= grow_score[r] : grow_score[j] < grow_score[r])) r = j;
        }
        if (r < 0) break;
        int64_t q = -1;
        for (int64_t j = 0; j < cols; ++j) {
            if (initially[j] || taken[j]) continue;
            if (m > 0 ? j / m != r / m : (eps > 0 ? c[j] >= 0 : c[j] <= 0)) continue;
            if (q < 0 || importance[j] < importance[q]) q = j;
        }
        grown[r] = true;
        if (q < 0) break;
        const double after = (eps + c[q]) - c[r];
        if (m > 0 && ((after > 0) != positive_start || after == 0)) break;
        taken[q] = true;
        pruned[r] = false;
        pruned[q] = true;
        eps = after;
    }
}

at::Tensor reference_dsnot(const Layer& l, double s, const ps::SparsityPattern& pattern, ps::CompareGroup group,
                           const ps::DsnotOptions& o) {
    const at::Tensor importance = o.initial == "wanda" ? l.w.abs() * l.sq.sqrt().unsqueeze(0) : l.w.abs();
    at::Tensor mask = pattern.is_nm() ? ps_test::reference_nm(importance, pattern.n, pattern.m)
                                      : group == ps::CompareGroup::Row ? ps_test::reference_row(importance, s)
                                                                       : ps_test::reference_matrix(importance, s);
    const at::Tensor w = l.w.to(at::kDouble), sums = l.sums.to(at::kDouble);
    const at::Tensor spread = l.vars.to(at::kDouble).clamp_min(1e-12).pow(o.variance_power);
    const at::Tensor imp = importance.to(at::kDouble);
    for (int64_t i = 0; i < w.size(0); ++i) {
        std::vector<bool> pruned;
        std::vector<double> c, g, score;
        for (int64_t j = 0; j < w.size(1); ++j) {
            pruned.push_back(mask[i][j].item<bool>());
            c.push_back(w[i][j].item<double>() * sums[j].item<double>());
            g.push_back(c.back() / spread[j].item<double>());
            score.push_back(imp[i][j].item<double>());
        }
        reference_row_refine(pruned, c, g, score, o, pattern.m);
        for (int64_t j = 0; j < w.size(1); ++j) mask[i][j] = static_cast<bool>(pruned[j]);
    }
    return mask;
}

// Σ over rows of |Σ_{j pruned} W_ij·m_j|.
double total_error(const Layer& l, const at::Tensor& mask) {
    return (l.w.to(at::kDouble) * l.sums.to(at::kDouble) * mask.to(at::kDouble)).sum(1).abs().sum().item<double>();
}

}  // namespace

class TestDsnot : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void equals_the_reference_data() {
        QTest::addColumn<QString>("initial");
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<double>("sparsity");
        QTest::addColumn<QString>("group");
        QTest::addColumn<double>("power");
        QTest::newRow("wanda 50% row") << "wanda" << "unstructured" << 0.5 << "row" << 1.0;
        QTest::newRow("wanda 70% row") << "wanda" << "unstructured" << 0.7 << "row" << 1.0;
        QTest::newRow("magnitude 60% matrix") << "magnitude" << "unstructured" << 0.6 << "matrix" << 0.5;
        QTest::newRow("wanda 2:4") << "wanda" << "2:4" << 0.5 << "row" << 1.0;
        QTest::newRow("magnitude 4:8, no variance") << "magnitude" << "4:8" << 0.5 << "row" << 0.0;
    }

    void equals_the_reference() {
        QFETCH(QString, initial);
        QFETCH(QString, pattern);
        QFETCH(double, sparsity);
        QFETCH(QString, group);
        QFETCH(double, power);
        const ps::SparsityPattern p = ps::SparsityPattern::parse(pattern.toStdString());
        const ps::CompareGroup g = ps::parse_compare_group(group.toStdString());
        ps::DsnotOptions o;
        o.initial = initial.toStdString();
        o.variance_power = power;
        int64_t swapped = 0;
        for (uint64_t seed : {1, 2, 3}) {
            const Layer l = random_layer(24, 96, seed);
            const at::Tensor got = ps::dsnot_mask(l.w, {l.sq, l.sums, l.vars}, sparsity, p, g, o, "w");
            const at::Tensor want = reference_dsnot(l, sparsity, p, g, o);
            QVERIFY2(at::equal(got, want), qPrintable(QString("seed %1: %2 entries differ").arg(seed).arg((got != want).sum().item<int64_t>())));
            // Every row (or N:M group) keeps its count.
            ps::DsnotOptions none = o;
            none.cycles = 0;
            const at::Tensor initial_mask = ps::dsnot_mask(l.w, {l.sq, l.sums, l.vars}, sparsity, p, g, none, "w");
            if (p.is_nm())
                QVERIFY(at::equal(got.reshape({24, -1, p.m}).sum(-1), at::full({24, 96 / p.m}, p.n, at::kLong)));
            else
                QVERIFY(at::equal(got.sum(1), initial_mask.sum(1)));
            if (g == ps::CompareGroup::Row && !p.is_nm()) QCOMPARE(got.sum(1)[0].item<int64_t>(), ps_test::floor_count(sparsity, 96));
            QVERIFY(total_error(l, got) < total_error(l, initial_mask));
            swapped += (got != initial_mask).sum().item<int64_t>() / 2;
        }
        qInfo("%lld swaps over 3 layers of 24 rows", static_cast<long long>(swapped));
    }

    void no_cycles_is_the_initial_mask() {
        const Layer l = random_layer(16, 64, 7);
        ps::DsnotOptions o;
        o.cycles = 0;
        const ps::SparsityPattern unstructured;
        QVERIFY(at::equal(ps::dsnot_mask(l.w, {l.sq, {}, {}}, 0.5, unstructured, ps::CompareGroup::Row, o, "w"),
                          ps::select_pruned(ps::wanda_scores(l.w, l.sq), 0.5, unstructured, ps::CompareGroup::Row, "w")));
        o.initial = "magnitude";
        QVERIFY(at::equal(ps::dsnot_mask(l.w, {}, 0.5, unstructured, ps::CompareGroup::Row, o, "w"),
                          ps::select_pruned(ps::magnitude_scores(l.w), 0.5, unstructured, ps::CompareGroup::Row, "w")));
        o.cycles = 5;
        QCOMPARE(ps_test::error_of([&] { ps::dsnot_mask(l.w, {}, 0.5, unstructured, ps::CompareGroup::Row, o, "w"); }),
                 QString("w: DSnoT's input sums of shape undefined do not match the weight's 64 input columns"));
    }

    // Two batches of 3-d inputs (3 + 2 samples) and a 2-d one (one sample): sums per sample and the
    // variance over every token, merged in order.
    void accumulator_sums_and_variances() {
        at::manual_seed(3);
        const std::vector<at::Tensor> xs = {at::randn({3, 7, 10}) + 2, at::randn({2, 4, 10}) * 3, at::randn({6, 10})};
        ps::ColumnNormAccumulator first(10), later(10);
        first.add(xs[0]);
        later.add(xs[1]);
        later.add(xs[2]);
        first.merge(later);
        at::Tensor all = at::cat({xs[0].reshape({-1, 10}), xs[1].reshape({-1, 10}), xs[2]}).to(at::kDouble);
        PS_COMPARE_TENSOR(first.mean_sums(), (all.sum(0) / 6).to(at::kFloat), std::string("sums"), false, 1e-6, 0);
        PS_COMPARE_TENSOR(first.variances(), all.var(0, false).to(at::kFloat), std::string("variances"), false, 1e-5, 0);
    }

    void through_the_pipeline() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = ps::Plan::from_json({{"method", "dsnot"}, {"sparsity", 0.6}, {"targets", {".*layer\\.0\\..*"}},
                                          {"calibration", {{"samples", 16}, {"batch_size", 8}}}},
                                         "p.json");
        const auto calib = ps::calibration_batches(*model, p.calibration, 0);
        const ps::SparsityMap targets = ps::allocate(p, model->map());
        // Block 0's inputs come from a plain forward pass of the dense model.
        std::map<std::string, Layer> layers;
        std::map<std::string, int64_t> samples;
        std::map<std::string, at::Tensor> sums, squares, counts;
        model->weights().set_linear_tap([&](const std::string& name, const at::Tensor& x) {
            if (!targets.count(name)) return;
            const at::Tensor flat = x.to(at::kDouble).reshape({-1, x.size(-1)});
            const auto add = [&](std::map<std::string, at::Tensor>& to, const at::Tensor& t) { to[name] = to.count(name) ? to[name] + t : t; };
            add(sums, flat.sum(0));
            add(squares, flat.square().sum(0));
            add(counts, at::scalar_tensor(static_cast<double>(flat.size(0)), at::kDouble));
            samples[name] += x.size(0);
        });
        for (const ps::VlmInputs& b : calib) model->forward(b);
        model->weights().set_linear_tap(nullptr);
        for (const auto& [name, s] : targets) {
            Layer& l = layers[name];
            l.w = model->weights().get(name + ".weight").clone();
            const double n = static_cast<double>(samples.at(name)), tokens = counts.at(name).item<double>();
            l.sq = (squares.at(name) / n).to(at::kFloat);
            l.sums = (sums.at(name) / n).to(at::kFloat);
            const at::Tensor mean = sums.at(name) / tokens;
            l.vars = (squares.at(name) / tokens - mean * mean).clamp_min(0).to(at::kFloat);
        }
        auto dense = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::PruneResult attention_only = ps::prune_model(*model, p, targets, calib, {});
        p = ps::Plan::from_json({{"method", "dsnot"}, {"sparsity", 0.6}, {"targets", {".*layer\\.0\\..*"}},
                                 {"calibration", {{"samples", 16}, {"batch_size", 8}}}, {"dsnot", {{"layers", "all"}}}},
                                "p.json");
        const ps::PruneResult all = ps::prune_model(*dense, p, targets, calib, {});
        int64_t refined = 0, mlp = 0;
        for (const auto& [name, mask] : all.masks) {
            std::string role;
            for (const ps::LinearLayer& l : model->map().linears)
                if (l.name == name) role = l.role;
            const bool in_mlp = role == "fc1" || role == "fc2" || role == "gate" || role == "up" || role == "down";
            ps::DsnotOptions o;
            const at::Tensor everything = reference_dsnot(layers.at(name), 0.6, {}, ps::CompareGroup::Row, o);
            QVERIFY2(at::equal(mask.cpu(), everything), name.c_str());
            o.cycles = in_mlp ? 0 : o.cycles;
            QVERIFY2(at::equal(attention_only.masks.at(name).cpu(), reference_dsnot(layers.at(name), 0.6, {}, ps::CompareGroup::Row, o)),
                     name.c_str());
            o.cycles = 0;
            const bool changed = !at::equal(everything, reference_dsnot(layers.at(name), 0.6, {}, ps::CompareGroup::Row, o));
            refined += changed;
            mlp += in_mlp;
        }
        QVERIFY2(mlp > 0 && refined > mlp, qPrintable(QString("%1 of %2 Linears refined, %3 in the MLP").arg(refined).arg(all.masks.size()).arg(mlp)));

        const QString negative = ps_test::error_of([] { ps::Plan::from_json({{"method", "dsnot"}, {"dsnot", {{"cycles", -1}}}}, "p.json"); });
        QVERIFY2(negative.startsWith("p.json: dsnot.cycles: -1 is below "), qPrintable(negative));
        const QString wrong = ps_test::error_of([] { ps::Plan::from_json({{"dsnot", {{"initial", "sparsegpt"}}}}, "p.json"); });
        QVERIFY2(wrong.startsWith("p.json: dsnot.initial: "), qPrintable(wrong));
    }
};

QTEST_GUILESS_MAIN(TestDsnot)
#include "test_dsnot.moc"
