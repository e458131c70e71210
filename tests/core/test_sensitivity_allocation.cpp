// Sensitivity allocation: the drops read from a sweep.json are dense − each block's accuracy; the
// allocation is OWL's spreading of those drops (the most sensitive block of a tower pruned least,
// spread 2λ, the parameter-weighted mean on target); the Plan's fields and the registry path; a
// sweep without sensitivity points, a block the sweep lacks, a missing file and a Plan naming no
// sweep are refused with the file or field named.
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/job/plan.h"
#include "core/job/sweep.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/owl.h"
#include "core/prune/registry.h"
#include "core/prune/sensitivity_allocation.h"
#include "tests/test_support.h"

class TestSensitivityAllocation : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps::ModelMap map_;
    ps::SparsityMap all_;
    std::map<std::string, double> accuracy_;  // block -> accuracy with that block pruned alone
    std::string sweep_;

    std::string write_sweep(const std::string& file, const std::map<std::string, double>& accuracy) {
        ps::SweepResult sweep;
        sweep.dense_accuracy = 80.0;
        ps::SweepPoint curve;  // not a sensitivity point
        curve.name = "wanda unstructured 50%";
        curve.accuracy = 10.0;
        sweep.points.push_back(curve);
        for (const auto& [block, acc] : accuracy) {
            ps::SweepPoint p;
            p.name = p.block = block;
            p.accuracy = acc;
            sweep.points.push_back(p);
        }
        const std::string path = tmp_.filePath(QString::fromStdString(file)).toStdString();
        ps::write_file_atomic(path, sweep.to_json().dump());
        return path;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        map_ = ps::inspect_checkpoint(PS_DEFAULT_MODEL);
        all_ = ps::allocate(ps::Plan{}, map_);
        int i = 0;
        for (const ps::LinearLayer& l : map_.linears)
            if (all_.count(l.name) && !accuracy_.count(l.group)) accuracy_[l.group] = 79.0 - ((i++ * 7) % 11);  // not monotone
        QCOMPARE(accuracy_.size(), size_t(10));
        sweep_ = write_sweep("sweep.json", accuracy_);
    }

    void drops_are_dense_minus_block_accuracy() {
        const auto drops = ps::read_sensitivity(sweep_);
        QCOMPARE(drops.size(), accuracy_.size());
        for (const auto& [block, acc] : accuracy_) QCOMPARE(drops.at(block), 80.0 - acc);
    }

    void most_sensitive_blocks_pruned_least() {
        const double s = 0.5, lambda = 0.1;
        const ps::SparsityMap a = ps::sensitivity_allocate(map_, all_, sweep_, s, lambda);
        QCOMPARE(a.size(), all_.size());
        std::map<ps::Modality, std::pair<double, double>> weighted;  // Σ params · sparsity, Σ params
        std::map<ps::Modality, std::pair<double, double>> range;     // lowest, highest sparsity
        std::map<std::string, std::pair<ps::Modality, double>> block;  // block -> tower, sparsity
        for (const ps::LinearLayer& l : map_.linears) {
            if (!a.count(l.name)) continue;
            const double v = a.at(l.name);
            weighted[l.modality].first += static_cast<double>(l.params()) * v;
            weighted[l.modality].second += static_cast<double>(l.params());
            auto [it, fresh] = range.emplace(l.modality, std::make_pair(v, v));
            it->second = {std::min(it->second.first, v), std::max(it->second.second, v)};
            block[l.group] = {l.modality, v};
        }
        for (const auto& [m, w] : weighted) QVERIFY(std::abs(w.first - s * w.second) <= 1.0);
        for (const auto& [m, r] : range) QVERIFY(std::abs((r.second - r.first) - 2 * lambda) < 1e-12);
        for (const auto& [b1, t1] : block)
            for (const auto& [b2, t2] : block)
                if (t1.first == t2.first && accuracy_.at(b1) < accuracy_.at(b2)) QVERIFY2(t1.second < t2.second, b1.c_str());
        // the spreading is OWL's, fed with the drops
        std::map<std::string, double> drops;
        for (const auto& [b, acc] : accuracy_) drops[b] = 80.0 - acc;
        QVERIFY(a == ps::owl_allocate(map_, all_, drops, s, lambda));
    }

    void plan_fields_and_registry() {
        const ps::Plan p = ps::Plan::from_json(
            nlohmann::json{{"model", PS_DEFAULT_MODEL}, {"sparsity", 0.6},
                           {"allocation", {{"kind", "sensitivity"}, {"sensitivity", sweep_}, {"sensitivity_lambda", 0.05}}}},
            "plan.json");
        QCOMPARE(p.allocation.sensitivity, sweep_);
        QCOMPARE(p.allocation.sensitivity_lambda, 0.05);
        const ps::Plan again = ps::Plan::from_json(p.to_json(), "again.json");
        QCOMPARE(again.allocation.sensitivity, sweep_);
        QCOMPARE(again.allocation.sensitivity_lambda, 0.05);
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::SparsityMap a = ps::plan_allocation(*model, p, {}, {});
        QVERIFY(a == ps::sensitivity_allocate(map_, all_, sweep_, 0.6, 0.05));
    }

    void bad_input_is_named() {
        const std::string none = write_sweep("none.json", {});
        QVERIFY(ps_test::error_of([&] { ps::read_sensitivity(none); }).startsWith(QString::fromStdString(none + ": holds no sensitivity points")));
        auto fewer = accuracy_;
        fewer.erase(fewer.begin());
        const std::string part = write_sweep("part.json", fewer);
        QVERIFY(ps_test::error_of([&] { ps::sensitivity_allocate(map_, all_, part, 0.5, 0.1); })
                    .startsWith(QString::fromStdString(part + ": has no sensitivity point for block " + accuracy_.begin()->first)));
        const std::string missing = tmp_.filePath("missing.json").toStdString();
        QVERIFY(ps_test::error_of([&] { ps::read_sensitivity(missing); }).startsWith(QString::fromStdString(missing)));
        const nlohmann::json no_sweep = {{"sparsity", 0.5}, {"allocation", {{"kind", "sensitivity"}}}};
        QVERIFY(ps_test::error_of([&] { ps::Plan::from_json(no_sweep, "p.json"); }).contains("allocation.sensitivity"));
        const nlohmann::json bad_lambda = {{"sparsity", 0.5},
                                           {"allocation", {{"kind", "sensitivity"}, {"sensitivity", sweep_}, {"sensitivity_lambda", 1.5}}}};
        QVERIFY(ps_test::error_of([&] { ps::Plan::from_json(bad_lambda, "p.json"); }).contains("sensitivity_lambda"));
    }
};

QTEST_GUILESS_MAIN(TestSensitivityAllocation)
#include "test_sensitivity_allocation.moc"
