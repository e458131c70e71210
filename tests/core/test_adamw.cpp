// AdamW and the cosine schedule against a straightforward element-by-element computation.
#include <QTest>

#include <cmath>

#include "core/error.h"
#include "core/train/adamw.h"

class TestAdamW : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matches_reference_update() {
        at::Tensor w = at::tensor({0.5, -1.0, 2.0, 0.25}, at::kDouble).view({2, 2}).requires_grad_(true);
        at::Tensor b = at::tensor({0.1, -0.2}, at::kDouble).requires_grad_(true);
        ps::AdamWOptions opt;
        opt.weight_decay = 0.1;
        ps::AdamW adam({{"w", w}, {"b", b}}, opt);
        // reference state, per element
        std::vector<double> rw = {0.5, -1.0, 2.0, 0.25}, rb = {0.1, -0.2};
        std::vector<double> mw(4, 0), vw(4, 0), mb(2, 0), vb(2, 0);
        const double lrs[] = {0.01, 0.02, 0.005};
        for (int step = 1; step <= 3; ++step) {
            // loss = sum(w^3) + sum(b^2 * step): gradients 3w^2 and 2*step*b
            (w.pow(3).sum() + (b * b).sum() * step).backward();
            const double lr = lrs[step - 1];
            auto update = [&](std::vector<double>& p, std::vector<double>& m, std::vector<double>& v, bool decay, bool cube) {
                for (size_t i = 0; i < p.size(); ++i) {
                    const double g = cube ? 3 * p[i] * p[i] : 2 * step * p[i];
                    if (decay) p[i] *= 1 - lr * opt.weight_decay;
                    m[i] = opt.beta1 * m[i] + (1 - opt.beta1) * g;
                    v[i] = opt.beta2 * v[i] + (1 - opt.beta2) * g * g;
                    const double mh = m[i] / (1 - std::pow(opt.beta1, step)), vh = v[i] / (1 - std::pow(opt.beta2, step));
                    p[i] -= lr * mh / (std::sqrt(vh) + opt.eps);
                }
            };
            update(rw, mw, vw, true, true);
            update(rb, mb, vb, false, false);  // vectors are not decayed
            adam.step(lr);
            QVERIFY(!w.grad().defined() || w.grad().abs().max().item<double>() == 0.0);
        }
        QCOMPARE(adam.steps(), int64_t(3));
        for (int i = 0; i < 4; ++i) QVERIFY(std::abs(w.view(-1)[i].item<double>() - rw[i]) < 1e-12);
        for (int i = 0; i < 2; ++i) QVERIFY(std::abs(b[i].item<double>() - rb[i]) < 1e-12);
    }

    void state_round_trip() {
        at::Tensor w = at::ones({3, 2}).requires_grad_(true);
        ps::AdamW a({{"w", w}}, {});
        w.sum().backward();
        a.step(0.1);
        const ps::NamedTensors state = a.state();
        QCOMPARE(state.size(), size_t(2));
        QCOMPARE(state[0].first, std::string("w.exp_avg"));
        at::Tensor w2 = w.detach().clone().requires_grad_(true);
        ps::AdamW b({{"w", w2}}, {});
        b.restore(state, a.steps());
        w.sum().backward();
        w2.sum().backward();
        a.step(0.1);
        b.step(0.1);
        QVERIFY(at::equal(w, w2));
        QVERIFY_THROWS_EXCEPTION(ps::Error, b.restore({{"w.exp_avg", at::zeros({2})}}, 1));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::AdamW({{"frozen", at::zeros({2})}}, {}));
    }

    void cosine_schedule() {
        QCOMPARE(ps::cosine_lr(0, 100, 10, 1.0), 0.1);
        QCOMPARE(ps::cosine_lr(9, 100, 10, 1.0), 1.0);
        QCOMPARE(ps::cosine_lr(10, 100, 10, 1.0), 1.0);
        QVERIFY(std::abs(ps::cosine_lr(55, 100, 10, 1.0) - 0.5) < 1e-12);  // half way down
        QVERIFY(std::abs(ps::cosine_lr(100, 100, 10, 1.0, 0.01) - 0.01) < 1e-12);
        QVERIFY(std::abs(ps::cosine_lr(200, 100, 10, 1.0, 0.01) - 0.01) < 1e-12);
    }
};

QTEST_APPLESS_MAIN(TestAdamW)
#include "test_adamw.moc"
