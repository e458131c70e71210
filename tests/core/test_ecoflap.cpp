// ECoFLaP allocation: the keep budget is met exactly, every block keeps at least 1 − (s + extra),
// more important blocks keep more; the zeroth-order scores are deterministic in the seed and leave
// the model's weights as they were.
#include <QTest>

#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/ecoflap.h"

class TestEcoflap : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ps::Vlm> model_;
    ps::SparsityMap targets_;
    std::vector<ps::VlmInputs> calib_;

    int64_t kept(const ps::SparsityMap& alloc) const {
        double k = 0;
        for (const ps::LinearLayer& l : model_->map().linears)
            if (alloc.count(l.name)) k += (1.0 - alloc.at(l.name)) * static_cast<double>(l.params());
        return std::llround(k);
    }

private Q_SLOTS:
    void initTestCase() {
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p;
        p.targets = {".*layer\\.[01]\\..*"};  // two blocks per tower keep the test fast
        targets_ = ps::allocate(p, model_->map());
        QCOMPARE(targets_.size(), size_t(24));
        p.calibration.samples = 16;
        p.calibration.batch_size = 16;
        calib_ = ps::calibration_batches(*model_, p.calibration, 0);
    }

    void budget_met_exactly_on_made_up_scores() {
        ps::EcoflapScores scores;
        double weight = 1;
        for (const ps::LinearLayer& l : model_->map().linears)
            if (targets_.count(l.name)) scores.group[l.group] = (weight *= 3);  // later blocks more important
        ps::EcoflapOptions opt;
        for (double s : {0.3, 0.5, 0.7}) {
            const ps::SparsityMap a = ps::ecoflap_allocate(model_->map(), targets_, scores, s, opt);
            int64_t total = 0;
            for (const ps::LinearLayer& l : model_->map().linears)
                if (targets_.count(l.name)) total += static_cast<int64_t>(l.params());
            QVERIFY2(std::abs(kept(a) - std::llround((1 - s) * total)) <= 0, qPrintable(QString::number(s)));
            std::map<std::string, double> by_group;
            for (const ps::LinearLayer& l : model_->map().linears)
                if (a.count(l.name)) by_group[l.group] = a.at(l.name);
            for (const auto& [g, sg] : by_group) QVERIFY2(sg <= s + opt.extra + 1e-12 && sg >= 0, g.c_str());
            // within a tower, the more important (later) block is pruned less
            QVERIFY(by_group.at("text_model.encoder.layer.1") <= by_group.at("text_model.encoder.layer.0"));
        }
    }

    void zeroth_order_scores() {
        const at::Tensor before = model_->forward(calib_[0]).logits_per_image;
        ps::EcoflapOptions opt;
        opt.samples = 16;
        const ps::EcoflapScores a = ps::ecoflap_scores(*model_, targets_, calib_, opt, {});
        QVERIFY(at::equal(model_->forward(calib_[0]).logits_per_image, before));  // weights restored
        for (const auto& [name, s] : targets_) {
            QVERIFY(!model_->weights().overridden(name + ".weight"));
            QVERIFY2(a.matrix.at(name) > 0 && std::isfinite(a.matrix.at(name)), name.c_str());
        }
        QCOMPARE(a.group.size(), size_t(4));
        const ps::EcoflapScores b = ps::ecoflap_scores(*model_, targets_, calib_, opt, {});
        QCOMPARE(a.matrix, b.matrix);
        opt.seed = 1;
        QVERIFY(ps::ecoflap_scores(*model_, targets_, calib_, opt, {}).matrix != a.matrix);
        // the allocation from real scores still meets the budget
        const ps::SparsityMap alloc = ps::ecoflap_allocate(model_->map(), targets_, a, 0.6, opt);
        int64_t total = 0;
        for (const ps::LinearLayer& l : model_->map().linears)
            if (targets_.count(l.name)) total += static_cast<int64_t>(l.params());
        QCOMPARE(kept(alloc), std::llround(0.4 * total));
    }
};

QTEST_APPLESS_MAIN(TestEcoflap)
#include "test_ecoflap.moc"
