// ECoFLaP allocation: the keep budget is met exactly, every block keeps at least 1 − (s + extra),
// more important blocks keep more; the zeroth-order scores are deterministic in the seed and leave
// the model's weights as they were; the first-order scores equal Σ|W|·|mean gradient| from a direct
// autograd reference written here, and the first-order allocation meets the budget too.
#include <QTest>

#include <ATen/core/grad_mode.h>

#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/ecoflap.h"
#include "core/prune/ecoflap_first_order.h"
#include "core/prune/registry.h"

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

    void first_order_scores_match_autograd() {
        ps::Plan p;
        p.calibration.samples = 16;
        p.calibration.batch_size = 8;  // two batches: the gradient is averaged over them
        const auto calib = ps::calibration_batches(*model_, p.calibration, 1);
        QCOMPARE(calib.size(), size_t(2));
        const at::Tensor before = model_->forward(calib[0]).logits_per_image;
        const ps::EcoflapScores got = ps::ecoflap_first_order_scores(*model_, targets_, calib, {});
        QVERIFY(at::equal(model_->forward(calib[0]).logits_per_image, before));  // weights as they were
        for (const auto& [name, s] : targets_) QVERIFY(!model_->weights().overridden(name + ".weight"));

        // Reference: every targeted weight a leaf that requires grad, CLIP's symmetric contrastive
        // loss written out, one backward per batch; ḡ = the mean of the batch gradients.
        std::map<std::string, at::Tensor> leaf, grad_sum;
        for (const auto& [name, s] : targets_) {
            leaf[name] = model_->weights().get(name + ".weight").detach().clone().requires_grad_(true);
            model_->weights().set(name + ".weight", leaf[name]);
            grad_sum[name] = at::zeros_like(leaf[name], at::kDouble);
        }
        {
            at::AutoGradMode grad(true);
            for (const auto& b : calib) {
                std::vector<ps::StageState> towers;  // the stages directly: they run under this grad mode
                for (int t = 0; t < static_cast<int>(model_->towers().size()); ++t) towers.push_back(model_->run_tower(t, b, towers));
                const at::Tensor logits = model_->head(b, towers).logits_per_image;
                const at::Tensor labels = at::arange(logits.size(0), at::kLong);
                const at::Tensor loss = (at::log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean() +
                                         at::log_softmax(logits, 0).gather(0, labels.unsqueeze(0)).mean()) * -0.5;
                for (auto& [name, l] : leaf) l.mutable_grad() = at::Tensor();
                loss.backward();
                for (auto& [name, l] : leaf) grad_sum[name] += l.grad().to(at::kDouble);
            }
        }
        for (const auto& [name, s] : targets_) model_->weights().unset(name + ".weight");
        std::map<std::string, double> want_group;
        for (const ps::LinearLayer& l : model_->map().linears) {
            if (!targets_.count(l.name)) continue;
            const double want = (leaf[l.name].detach().to(at::kDouble).abs() * (grad_sum[l.name] / 2.0).abs()).sum().item<double>();
            QVERIFY2(want > 0, l.name.c_str());
            QVERIFY2(std::abs(got.matrix.at(l.name) - want) <= 1e-4 * want,
                     qPrintable(QString("%1: %2 vs %3").arg(l.name.c_str()).arg(got.matrix.at(l.name)).arg(want)));
            want_group[l.group] += want;
        }
        QCOMPARE(got.group.size(), want_group.size());
        for (const auto& [g, want] : want_group) QVERIFY2(std::abs(got.group.at(g) - want) <= 1e-4 * want, g.c_str());

        // Budget: met exactly, from these scores and through the registry's allocator.
        int64_t total = 0;
        for (const ps::LinearLayer& l : model_->map().linears)
            if (targets_.count(l.name)) total += static_cast<int64_t>(l.params());
        for (double s : {0.4, 0.6}) {
            QCOMPARE(kept(ps::ecoflap_allocate(model_->map(), targets_, got, s, {})), std::llround((1 - s) * total));
            ps::Plan q;
            q.sparsity = s;
            q.allocation.kind = "ecoflap-first-order";
            const ps::SparsityMap a = ps::allocator_by_id(q.allocation.kind).allocate(*model_, q, targets_, calib, {});
            QCOMPARE(kept(a), std::llround((1 - s) * total));
            for (const auto& [name, v] : a) QVERIFY2(v >= 0 && v <= s + q.allocation.extra + 1e-12, name.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestEcoflap)
#include "test_ecoflap.moc"
