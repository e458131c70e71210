// Evaluation tasks: recall@k against a hand-worked example, retrieval on a caption folder with
// repeated captions, KL of a model against itself and against a perturbed copy, the linear probe,
// per-class tables and cancellation.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/imgcodecs.hpp>

#include "core/data/fashion_mnist.h"
#include "core/data/prompts.h"
#include "core/eval/linear_probe.h"
#include "core/eval/logit_kl.h"
#include "core/eval/retrieval.h"
#include "core/eval/zero_shot.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"

class TestEvalTasks : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::unique_ptr<ps::Vlm> model_;
    ps::LabelledImages test_;

    ps::EvalSet subset(int64_t n) const {
        return ps::labelled_eval_set("test", test_, ps::Processor(*model_).image_config(), ps::zero_shot_templates(), n, 1);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        test_ = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
    }

    void recall_by_hand() {
        // 3 queries against 4 items; groups: queries {0,1,2}, items {0,1,1,2}
        const at::Tensor sim = at::tensor({0.9, 0.1, 0.2, 0.3,    // q0: best item 0 (group 0): hit at 1
                                           0.8, 0.1, 0.7, 0.0,    // q1: item 0 (g0), item 2 (g1): miss at 1, hit at 2
                                           0.5, 0.6, 0.7, 0.1})   // q2: item 3 (g2) ranked last: miss at 3, hit at 4
                                   .view({3, 4});
        const at::Tensor qg = at::tensor({0, 1, 2}, at::kLong), ig = at::tensor({0, 1, 1, 2}, at::kLong);
        QCOMPARE(ps::recall_at(sim, qg, ig, 1).sum().item<double>(), 100.0);
        QCOMPARE(ps::recall_at(sim, qg, ig, 2).sum().item<double>(), 200.0);
        QCOMPARE(ps::recall_at(sim, qg, ig, 3).sum().item<double>(), 200.0);
        QCOMPARE(ps::recall_at(sim, qg, ig, 4).sum().item<double>(), 300.0);
        QCOMPARE(ps::recall_at(sim, qg, ig, 9).sum().item<double>(), 300.0);  // k past the end
    }

    void retrieval_on_a_caption_folder() {
        const QString dir = tmp_.filePath("captions");
        QVERIFY(QDir().mkpath(dir));
        QFile f(dir + "/captions.jsonl");
        QVERIFY(f.open(QIODevice::WriteOnly));
        const char* names[] = {"trouser", "sneaker", "bag"};
        const int64_t picks[] = {2, 9, 18};  // test images of classes trouser(1), sneaker(7), bag(8)
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(test_.labels[picks[i]].item<int64_t>(), int64_t(i == 0 ? 1 : i == 1 ? 7 : 8));
            const cv::Mat gray(28, 28, CV_8UC1, test_.images[picks[i]].contiguous().data_ptr<uint8_t>());
            QVERIFY(cv::imwrite((dir + QString("/%1.png").arg(i)).toStdString(), gray));
            f.write(QString("{\"image\": \"%1.png\", \"caption\": \"a photo of a %2.\"}\n").arg(i).arg(names[i]).toUtf8());
        }
        f.close();
        const ps::EvalSet set = ps::caption_eval_set(ps::load_caption_folder(dir.toStdString()), ps::Processor(*model_).image_config());
        QVERIFY(!set.fully_labelled());
        const ps::EvalResult r = ps::retrieval(*model_, set, {}, {});
        QCOMPARE(r.metric("pairs"), 3.0);
        QCOMPARE(r.metric("image_to_text_r5"), 100.0);  // 3 items: every query finds its pair within 5
        QCOMPARE(r.metric("image_to_text_r1"), 100.0);  // three distinct classes the default knows well
        QCOMPARE(r.metric("text_to_image_r1"), 100.0);
        QVERIFY(r.per_class.empty());
    }

    void retrieval_and_zero_shot_on_labelled_images() {
        const ps::EvalSet set = subset(300);
        QCOMPARE(set.size, int64_t(300));
        const ps::EvalResult zs = ps::zero_shot(*model_, set, {}, {});
        const ps::EvalResult r = ps::retrieval(*model_, set, {}, {});
        QCOMPARE(r.columns.size(), size_t(4));
        QCOMPARE(r.per_class.size(), size_t(10));
        QVERIFY(r.metric("image_to_text_r5") >= r.metric("image_to_text_r1"));
        QVERIFY(r.metric("text_to_image_r5") >= r.metric("text_to_image_r1"));
        QVERIFY(zs.value() > 70.0);
        int64_t items = 0;
        for (const auto& row : r.per_class) items += row.count;
        QCOMPARE(items, int64_t(300));
        const nlohmann::json j = r.to_json();
        QCOMPARE(j["per_class"].size(), size_t(10));
        QCOMPARE(j["metrics"]["pairs"].get<double>(), 300.0);
        QVERIFY(QString::fromStdString(r.to_text()).contains("image_to_text_r1"));
    }

    void kl_against_the_dense_model() {
        const ps::EvalSet set = subset(200);
        auto dense = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::EvalResult same = ps::logit_kl(*model_, *dense, set, {}, {});
        QVERIFY(std::abs(same.value()) < 1e-9);
        // perturb the vision projection: predictions move, KL is positive and matches its own reference
        const at::Tensor w = dense->weights().get("visual_projection.weight");
        auto pruned = ps::Vlm::load(PS_DEFAULT_MODEL);
        pruned->weights().set("visual_projection.weight", w * (at::rand(w.sizes(), at::detail::createCPUGenerator(5)) > 0.5));
        const ps::EvalResult moved = ps::logit_kl(*pruned, *dense, set, {}, {});
        QVERIFY(moved.value() > 1e-3);
        QVERIFY(moved.metric("max_kl") >= moved.value());
        double weighted = 0;
        for (const auto& row : moved.per_class) weighted += row.values[0] * row.count;
        QVERIFY(std::abs(weighted / 200 - moved.value()) < 1e-9);
    }

    void linear_probe_is_at_least_as_good() {
        const auto cfg = ps::Processor(*model_).image_config();
        const ps::LabelledImages train = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "train");
        const ps::EvalSet tr = ps::labelled_eval_set("train", train, cfg, ps::zero_shot_templates(), 3000, 2);
        const ps::EvalSet te = subset(1000);
        const ps::EvalResult probe = ps::linear_probe(*model_, tr, te, {}, {});
        const ps::EvalResult zs = ps::zero_shot(*model_, te, {}, {});
        qInfo("1000 test images: zero-shot %.1f%%, linear probe (3000 train) %.1f%%", zs.value(), probe.value());
        QVERIFY(probe.value() >= zs.value() - 1.0);
        QCOMPARE(probe.metric("train_images"), 3000.0);
    }

    void cancel_and_errors() {
        ps::JobControl job;
        job.cancel();
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, ps::zero_shot(*model_, subset(10), {}, job));
        ps::EvalSet unlabelled = subset(10);
        unlabelled.labels = at::full({10}, -1, at::kLong);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::zero_shot(*model_, unlabelled, {}, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::linear_probe(*model_, unlabelled, subset(10), {}, {}));
    }
};

QTEST_APPLESS_MAIN(TestEvalTasks)
#include "test_eval_tasks.moc"
