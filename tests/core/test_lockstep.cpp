// run_in_lockstep on the default model's weight store: every batch waits at a stopping Linear until
// all have reached it, the caller sees the inputs in batch order and the weight it sets there is
// the one every batch computes with (one and two batches computing at once); batches that take
// different paths, a batch's error and a cancellation each end the run with their error, no thread
// left behind.
#include <QTest>

#include <atomic>

#include "core/error.h"
#include "core/job_control.h"
#include "core/model/vlm.h"
#include "core/prune/lockstep.h"
#include "tests/test_support.h"

class TestLockstep : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ps::Vlm> model_;
    const ps::LinearLayer* a_ = nullptr;  // two Linears of the same width
    const ps::LinearLayer* b_ = nullptr;
    static constexpr size_t kBatches = 5;

    at::Tensor input(size_t batch) const { return at::full({2, a_->in_features}, static_cast<double>(batch + 1)); }
    at::Tensor linear(const ps::LinearLayer& l, const at::Tensor& x) const {
        return model_->weights().linear(l.name, x, l.out_features, l.in_features, l.has_bias);
    }

private Q_SLOTS:
    void initTestCase() {
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        for (const ps::LinearLayer& l : model_->map().linears) {
            if (l.block < 0) continue;
            if (!a_) a_ = &l;
            else if (!b_ && l.in_features == a_->in_features && l.out_features == a_->out_features) b_ = &l;
        }
        QVERIFY(a_ && b_);
    }

    void batches_wait_for_the_weight_set_at_the_stop() {
        for (int width : {1, 2}) {
            ps::WeightStore& w = model_->weights();
            const at::Tensor dense = w.get(a_->name + ".weight"), halved = dense * 0.5;
            std::vector<at::Tensor> out(kBatches);
            std::vector<std::string> stops;
            std::atomic<int> past_b{0};
            ps::LockstepBlock block;
            block.batches = kBatches;
            block.width = width;
            block.run = [&](size_t i) {
                out[i] = linear(*a_, input(i));
                linear(*b_, out[i].slice(1, 0, b_->in_features));
                ++past_b;
            };
            block.stops_at = [&](const std::string& name) { return name == a_->name || name == b_->name; };
            block.at_stop = [&](const std::string& name, const std::vector<at::Tensor>& inputs) {
                QCOMPARE(past_b.load(), 0);  // nobody ran ahead
                stops.push_back(name);
                QCOMPARE(inputs.size(), kBatches);
                if (name != a_->name) return;
                for (size_t i = 0; i < kBatches; ++i) QVERIFY(at::equal(inputs[i], input(i)));
                w.set(a_->name + ".weight", halved);
            };
            ps::run_in_lockstep(w, block);
            w.unset(a_->name + ".weight");
            QCOMPARE(stops, (std::vector<std::string>{a_->name, b_->name}));
            QCOMPARE(past_b.load(), static_cast<int>(kBatches));
            const at::Tensor bias = a_->has_bias ? w.get(a_->name + ".bias") : at::zeros({a_->out_features});
            for (size_t i = 0; i < kBatches; ++i) QVERIFY(at::allclose(out[i], at::linear(input(i), halved, bias)));
        }
    }

    void different_paths_are_an_error() {
        ps::LockstepBlock block;
        block.batches = kBatches;
        block.width = 2;
        block.run = [&](size_t i) { linear(i == 3 ? *b_ : *a_, input(i)); };
        block.stops_at = [&](const std::string& name) { return name == a_->name || name == b_->name; };
        block.at_stop = [](const std::string&, const std::vector<at::Tensor>&) { QFAIL("no stop is reached by every batch"); };
        const QString e = ps_test::error_of([&] { ps::run_in_lockstep(model_->weights(), block); });
        QVERIFY2(e.contains("calibration batch") && e.contains("different paths"), qPrintable(e));
    }

    void a_batch_error_ends_the_run() {
        ps::LockstepBlock block;
        block.batches = kBatches;
        block.width = 2;
        block.run = [&](size_t i) {
            if (i == 2) throw ps::Error("batch 2", "broken input");
            linear(*a_, input(i));
        };
        block.stops_at = [&](const std::string& name) { return name == a_->name; };
        block.at_stop = [](const std::string&, const std::vector<at::Tensor>& inputs) { QVERIFY(!inputs[2].defined()); };
        QCOMPARE(ps_test::error_of([&] { ps::run_in_lockstep(model_->weights(), block); }), QString("batch 2: broken input"));
    }

    void cancelled_at_a_stop() {
        ps::JobControl job;
        job.cancel();
        bool reached = false;
        ps::LockstepBlock block;
        block.batches = kBatches;
        block.width = 2;
        block.run = [&](size_t i) { linear(*a_, input(i)); };
        block.stops_at = [&](const std::string& name) { return name == a_->name; };
        block.at_stop = [&](const std::string&, const std::vector<at::Tensor>&) { reached = true; };
        block.check = [&] { job.check("block"); };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, ps::run_in_lockstep(model_->weights(), block));
        QVERIFY(!reached);
        // the tap is gone: a plain product runs as before
        QVERIFY(linear(*a_, input(0)).defined());
    }
};

QTEST_APPLESS_MAIN(TestLockstep)
#include "test_lockstep.moc"
