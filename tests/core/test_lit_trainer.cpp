// LiT training of the default model's vision tower: deterministic on the CPU with a fixed seed,
// resumable after a cancel at exactly the same losses, and actually learning.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/Parallel.h>

#include "core/data/fashion_mnist.h"
#include "core/data/prompts.h"
#include "core/model/default_model.h"
#include "core/model/vlm.h"
#include "core/train/lit_trainer.h"

class TestLitTrainer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::string init_;
    ps::LabelledImages data_;
    std::vector<std::string> names_;

    ps::LitResult train(const ps::LitOptions& opt, const ps::JobControl& job = {}, ps::NamedTensors* trained = nullptr) {
        auto model = ps::Vlm::load(init_);
        const ps::LitResult r =
            ps::train_lit(*model, names_, data_, ps::class_prompts(data_.classes, ps::zero_shot_templates()), opt, job);
        if (trained)
            for (const auto& n : names_) trained->emplace_back(n, model->weights().get(n));
        return r;
    }

    static ps::LitOptions options() {
        ps::LitOptions o;
        o.epochs = 2;
        o.batch_size = 16;
        o.max_steps = 100;
        o.warmup = 10;
        o.seed = 7;
        return o;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        at::set_num_threads(2);
        const ps::DefaultModelSpec spec;
        const ps::NamedTensors init = ps::init_default_trainables(spec, 3);
        for (const auto& [n, t] : init) names_.push_back(n);
        init_ = tmp_.filePath("init").toStdString();
        ps::write_default_checkpoint(init_, ps::default_text_tower_dir(), init, spec);
        const ps::LabelledImages train = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "train");
        data_ = {train.images.slice(0, 0, 1600), train.labels.slice(0, 0, 1600), train.classes};
    }

    void deterministic_and_learning() {
        ps::NamedTensors a_w, b_w;
        const ps::LitResult a = train(options(), {}, &a_w);
        const ps::LitResult b = train(options(), {}, &b_w);
        QCOMPARE(a.losses.size(), size_t(100));
        QCOMPARE(a.total_steps, int64_t(200));
        QCOMPARE(a.losses[99], b.losses[99]);  // same loss at step 100, bit for bit
        QCOMPARE(a.losses, b.losses);
        for (size_t i = 0; i < a_w.size(); ++i) QVERIFY2(at::equal(a_w[i].second, b_w[i].second), a_w[i].first.c_str());
        double first = 0, last = 0;
        for (int i = 0; i < 10; ++i) {
            first += a.losses[i];
            last += a.losses[90 + i];
        }
        QVERIFY2(last < 0.8 * first, qPrintable(QString("loss %1 -> %2").arg(first / 10).arg(last / 10)));
        ps::LitOptions other = options();
        other.seed = 8;
        QVERIFY(train(other).losses[99] != a.losses[99]);
    }

    void resume_after_cancel_replays_exactly() {
        const ps::LitResult straight = train(options());
        ps::LitOptions opt = options();
        opt.state_path = tmp_.filePath("state.safetensors").toStdString();
        opt.checkpoint_every = 30;
        ps::JobControl job;
        job.on_progress = [&job](const ps::Progress& p) {
            if (p.done == 45) job.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, train(opt, job));
        const ps::LitResult resumed = train(opt);
        QCOMPARE(resumed.first_step, int64_t(30));
        QCOMPARE(resumed.steps, int64_t(100));
        QCOMPARE(resumed.losses.size(), size_t(70));
        for (size_t i = 0; i < resumed.losses.size(); ++i) QCOMPARE(resumed.losses[i], straight.losses[30 + i]);

        ps::LitOptions other = opt;  // a state file of another run is refused
        other.seed = 9;
        QVERIFY_THROWS_EXCEPTION(ps::Error, train(other));
    }

    void bad_options() {
        ps::LitOptions opt = options();
        opt.batch_size = 4000;
        QVERIFY_THROWS_EXCEPTION(ps::Error, train(opt));
        auto model = ps::Vlm::load(init_);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::train_lit(*model, names_, data_, {"a {}", "b {}", "c {}"}, options(), {}));
    }
};

QTEST_APPLESS_MAIN(TestLitTrainer)
#include "test_lit_trainer.moc"
