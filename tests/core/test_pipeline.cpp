// The layer-by-layer pipeline on the default model: Wanda masks equal a reference that recomputes
// every block's statistics from a separate model carrying the pipeline's pruned earlier blocks;
// exact counts; reconstruction error SparseGPT < Wanda < magnitude; cancel restores the model;
// streaming gives the same result; the written checkpoint reloads with the same outputs.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/data/prompts.h"
#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"

class TestPipeline : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::vector<ps::VlmInputs> calib_;

    static ps::Plan plan(const std::string& method, double sparsity, const std::string& pattern = "unstructured") {
        ps::Plan p;
        p.model = PS_DEFAULT_MODEL;
        p.method = method;
        p.sparsity = sparsity;
        p.pattern = pattern;
        p.calibration.samples = 32;
        p.calibration.batch_size = 16;
        p.targets = {".*layer\\.[01]\\..*"};  // the first two blocks of each tower keep the suite fast
        return p;
    }

    ps::PruneResult run(ps::Vlm& model, const ps::Plan& p, const ps::JobControl& job = {}) {
        return ps::prune_model(model, p, ps::allocate(p, model.map()), calib_, job);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        calib_ = ps::calibration_batches(*model, plan("wanda", 0.5).calibration, 0);
        QCOMPARE(calib_.size(), size_t(2));
        QCOMPARE(calib_[0].pixel_values.size(0), int64_t(16));
    }

    void wanda_matches_sequential_reference() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Plan p = plan("wanda", 0.5);
        const ps::PruneResult r = run(*model, p);
        QCOMPARE(r.tensors.size(), size_t(24));
        for (const ps::LinearLayer& l : model->map().linears) {
            if (!r.masks.count(l.name)) continue;
            // Reference: a separate model with the pipeline's weights for the earlier blocks of the
            // same tower, dense from this block on; a_j from the inputs it sees here.
            auto ref = ps::Vlm::load(PS_DEFAULT_MODEL);
            for (const ps::TensorResult& t : r.tensors)
                if (t.modality == ps::modality_name(l.modality) && t.block < l.block)
                    ref->weights().set(t.name + ".weight", model->weights().get(t.name + ".weight"));
            at::Tensor sum = at::zeros({l.in_features}, at::kDouble);
            int64_t samples = 0;
            ref->weights().set_linear_tap([&](const std::string& name, const at::Tensor& x) {
                if (name != l.name) return;
                sum += x.to(at::kDouble).pow(2).reshape({-1, l.in_features}).sum(0);
                samples += x.size(0);
            });
            for (const auto& b : calib_) ref->forward(b);
            const at::Tensor w = ref->weights().get(l.name + ".weight").to(at::kDouble);
            const at::Tensor score = w.abs() * (sum / samples).sqrt();
            at::Tensor want = at::zeros_like(score, at::kBool);
            if (l.modality == ps::Modality::Vision) {  // auto: per matrix in vision towers
                const int64_t k = static_cast<int64_t>(0.5 * static_cast<double>(score.numel()));
                want.view({-1}).index_fill_(0, std::get<1>(score.flatten().sort(true, 0, false)).slice(0, 0, k), true);
            } else {  // per row elsewhere
                const int64_t k = static_cast<int64_t>(0.5 * static_cast<double>(l.in_features));
                want.scatter_(1, std::get<1>(score.sort(true, 1, false)).slice(1, 0, k), true);
            }
            const int64_t differ = (want != r.masks.at(l.name)).sum().item<int64_t>();
            QVERIFY2(differ == 0, qPrintable(QString("%1: %2 entries differ").arg(QString::fromStdString(l.name)).arg(differ)));
        }
        for (const ps::TensorResult& t : r.tensors) QCOMPARE(t.numel - t.nnz, static_cast<int64_t>(0.5 * t.numel));
    }

    void n_m_counts() {
        for (const std::string method : {"wanda", "sparsegpt"}) {
            auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
            const ps::PruneResult r = run(*model, plan(method, 0.5, "2:4"));
            QCOMPARE(r.masks.size(), size_t(24));
            for (const auto& [name, mask] : r.masks) {
                const at::Tensor w = model->weights().get(name + ".weight");
                QVERIFY(at::equal(w == 0, mask));
                QVERIFY2(((w == 0).reshape({w.size(0), -1, 4}).sum(2) == 2).all().item<bool>(), name.c_str());
            }
        }
    }

    void error_ordering_at_60_percent() {
        std::map<std::string, double> mean;
        for (const std::string method : {"magnitude", "wanda", "sparsegpt"}) {
            auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
            const ps::PruneResult r = run(*model, plan(method, 0.6));
            for (const auto& t : r.tensors) mean[method] += t.relative_error / static_cast<double>(r.tensors.size());
            for (const auto& t : r.tensors) {
                const int64_t zeros = t.numel - t.nnz, rows = model->weights().get(t.name + ".weight").size(0);
                if (method == "wanda" && t.modality == "language")  // per row: floor(s * cols) in every row
                    QCOMPARE(zeros, rows * static_cast<int64_t>(0.6 * static_cast<double>(t.numel / rows)));
                else  // per matrix, and SparseGPT's cumulative per-block counts: floor(s * numel)
                    QVERIFY2(std::abs(zeros - static_cast<int64_t>(0.6 * static_cast<double>(t.numel))) <= 1, t.name.c_str());
            }
        }
        qInfo("mean relative reconstruction error at 60%%: magnitude %.4f, wanda %.4f, sparsegpt %.4f", mean["magnitude"],
              mean["wanda"], mean["sparsegpt"]);
        QVERIFY(mean["sparsegpt"] < mean["wanda"]);
        QVERIFY(mean["wanda"] < mean["magnitude"]);
    }

    void cancel_restores_the_model() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const at::Tensor before = model->forward(calib_[0]).logits_per_image;
        ps::JobControl job;
        job.on_progress = [&job](const ps::Progress& p) {
            if (p.done == 6) job.cancel();  // after two text blocks were pruned
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, run(*model, plan("wanda", 0.5), job));
        QVERIFY(at::equal(model->forward(calib_[0]).logits_per_image, before));
    }

    void streaming_and_written_checkpoint() {
        auto resident = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::LoadOptions opt;
        opt.streaming = true;
        auto streamed = ps::Vlm::load(PS_DEFAULT_MODEL, opt);
        ps::Plan p = plan("sparsegpt", 0.5);
        const ps::PruneResult a = run(*resident, p), b = run(*streamed, p);
        for (const auto& [name, mask] : a.masks) QVERIFY2(at::equal(mask, b.masks.at(name)), name.c_str());

        const std::string dir = tmp_.filePath("pruned").toStdString();
        ps::write_pruned_checkpoint(*resident, p, a, dir);
        auto reloaded = ps::Vlm::load(dir);
        QVERIFY(at::allclose(reloaded->forward(calib_[0]).logits_per_image, resident->forward(calib_[0]).logits_per_image, 0, 0));
        const ps::NamedTensors masks = ps::load_safetensors(dir + "/masks.safetensors");
        QCOMPARE(masks.size(), a.masks.size());
        for (const auto& [name, m] : masks) QVERIFY(at::equal(m.to(at::kBool), a.masks.at(name.substr(0, name.size() - 7))));
        for (const char* f : {"config.json", "vocab.txt", "preprocessor_config.json", "result.json", "plan.json"})
            QVERIFY2(std::filesystem::exists(dir + "/" + f), f);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_pruned_checkpoint(*resident, p, a, dir));  // never overwrites
    }
};

QTEST_APPLESS_MAIN(TestPipeline)
#include "test_pipeline.moc"
