// The layer-by-layer pipeline on the default model: Wanda masks equal a reference that recomputes
// every block's statistics from a separate model carrying the pipeline's pruned earlier blocks;
// exact counts; reconstruction error SparseGPT < Wanda < magnitude; cancel restores the model;
// streaming gives the same result; the written checkpoint reloads with the same outputs; a
// streaming run writing each block as it is pruned gives the same files byte for byte as a resident
// run exported afterwards (default model and a LLaVA demo), and a cancelled one leaves no folder.
// "sequential": "linear" (one pass, each Linear calibrated after the Linears pruned before it):
// Wanda against the same reference with every earlier target pruned, SparseGPT against pruning one
// target at a time; refused on a streamed model; cancelled, the model as it was.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "core/data/prompts.h"
#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/model/demo_checkpoint.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "tests/core/demo_inputs.h"
#include "tests/test_support.h"

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

    // The memory policy is apart from the algorithm: pooled and trimmed (with the allocator hook a
    // run installs) or neither, SparseGPT and Wanda give the same masks and weights.
    void memory_policy_leaves_the_result_alone() {
        ps::ScratchPool::install();
        for (const char* method : {"wanda", "sparsegpt"}) {
            const ps::Plan p = plan(method, 0.5);
            auto a = ps::Vlm::load(PS_DEFAULT_MODEL), b = ps::Vlm::load(PS_DEFAULT_MODEL);
            const ps::PruneResult pooled = ps::Pruner(*a, p, ps::allocate(p, a->map()), calib_).run({});
            const ps::PruneResult plain =
                ps::Pruner(*b, p, ps::allocate(p, b->map()), calib_, ps::PruneMemory({false, false})).run({});
            QCOMPARE(plain.masks.size(), pooled.masks.size());
            for (const auto& [name, mask] : pooled.masks) {
                QVERIFY2(at::equal(mask, plain.masks.at(name)), name.c_str());
                QVERIFY2(at::equal(a->weights().get(name + ".weight"), b->weights().get(name + ".weight")), name.c_str());
            }
        }
    }

    // Wanda's mask for `l` from the inputs a plain forward of `ref` feeds it: a_j = Σ x_j² / samples
    // in float64, scores |W|·√a, per matrix in vision towers (auto) and per row elsewhere.
    at::Tensor reference_wanda_mask(ps::Vlm& ref, const ps::LinearLayer& l) {
        at::Tensor sum = at::zeros({l.in_features}, at::kDouble);
        int64_t samples = 0;
        ref.weights().set_linear_tap([&](const std::string& name, const at::Tensor& x) {
            if (name != l.name) return;
            sum += x.to(at::kDouble).pow(2).reshape({-1, l.in_features}).sum(0);
            samples += x.size(0);
        });
        for (const auto& b : calib_) ref.forward(b);
        ref.weights().set_linear_tap(nullptr);
        const at::Tensor w = ref.weights().get(l.name + ".weight").to(at::kDouble);
        const at::Tensor score = w.abs() * (sum / samples).sqrt();
        at::Tensor want = at::zeros_like(score, at::kBool);
        if (l.modality == ps::Modality::Vision) {  // auto: per matrix in vision towers
            const int64_t k = static_cast<int64_t>(0.5 * static_cast<double>(score.numel()));
            want.view({-1}).index_fill_(0, std::get<1>(score.flatten().sort(true, 0, false)).slice(0, 0, k), true);
        } else {  // per row elsewhere
            const int64_t k = static_cast<int64_t>(0.5 * static_cast<double>(l.in_features));
            want.scatter_(1, std::get<1>(score.sort(true, 1, false)).slice(1, 0, k), true);
        }
        return want;
    }

    static void expect_same_mask(const at::Tensor& want, const at::Tensor& got, const std::string& name) {
        const int64_t differ = (want != got).sum().item<int64_t>();
        QVERIFY2(differ == 0, qPrintable(QString("%1: %2 entries differ").arg(QString::fromStdString(name)).arg(differ)));
    }

    // The pruned Linears in the order a forward reaches them.
    std::vector<std::string> forward_order(ps::Vlm& model, const std::map<std::string, at::Tensor>& pruned) {
        std::vector<std::string> order;
        model.weights().set_linear_tap([&](const std::string& name, const at::Tensor&) {
            if (pruned.count(name) && std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
        });
        model.forward(calib_[0]);
        model.weights().set_linear_tap(nullptr);
        return order;
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
            expect_same_mask(reference_wanda_mask(*ref, l), r.masks.at(l.name), l.name);
        }
        for (const ps::TensorResult& t : r.tensors) QCOMPARE(t.numel - t.nnz, static_cast<int64_t>(0.5 * t.numel));
    }

    // "sequential": "linear": every Linear calibrated on inputs that went through the Linears pruned
    // before it, its block's included, in one pass. Reference: for each target in forward order, a
    // separate model carrying the pipeline's weights for every target before it; Wanda's mask from
    // the inputs it sees there. The masks differ from the block-wise run's.
    void linear_order_wanda_matches_reference() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan("wanda", 0.5);
        p.sequential = "linear";
        const ps::PruneResult r = run(*model, p);
        QCOMPARE(r.masks.size(), size_t(24));
        const std::vector<std::string> order = forward_order(*model, r.masks);
        QCOMPARE(order.size(), size_t(24));
        std::map<std::string, const ps::LinearLayer*> layers;
        for (const ps::LinearLayer& l : model->map().linears) layers[l.name] = &l;
        for (size_t k = 0; k < order.size(); ++k) {
            auto ref = ps::Vlm::load(PS_DEFAULT_MODEL);
            for (size_t j = 0; j < k; ++j) ref->weights().set(order[j] + ".weight", model->weights().get(order[j] + ".weight"));
            expect_same_mask(reference_wanda_mask(*ref, *layers.at(order[k])), r.masks.at(order[k]), order[k]);
        }
        for (const ps::TensorResult& t : r.tensors) QCOMPARE(t.numel - t.nnz, static_cast<int64_t>(0.5 * t.numel));
        auto blockwise = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::PruneResult b = run(*blockwise, plan("wanda", 0.5));
        int64_t differ = 0;
        for (const auto& [name, mask] : r.masks) differ += (mask != b.masks.at(name)).sum().item<int64_t>();
        QVERIFY(differ > 0);
    }

    // SparseGPT (unstructured and 2:4) one Linear at a time: the one-pass run equals pruning each
    // target alone, in forward order, on a model that carries the targets pruned before it.
    void linear_order_sparsegpt_equals_one_target_at_a_time() {
        for (const std::string pattern : {"unstructured", "2:4"}) {
            auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
            ps::Plan p = plan("sparsegpt", 0.5, pattern);
            p.sequential = "linear";
            const ps::PruneResult r = run(*model, p);
            QCOMPARE(r.masks.size(), size_t(24));
            auto ref = ps::Vlm::load(PS_DEFAULT_MODEL);
            p.sequential = "block";
            for (const std::string& name : forward_order(*model, r.masks)) {
                const ps::PruneResult one = ps::prune_model(*ref, p, ps::SparsityMap{{name, 0.5}}, calib_, {});
                expect_same_mask(one.masks.at(name), r.masks.at(name), name);
                QVERIFY2(at::equal(ref->weights().get(name + ".weight"), model->weights().get(name + ".weight")), name.c_str());
                const at::Tensor w = model->weights().get(name + ".weight");
                if (pattern == "2:4") QVERIFY2(((w == 0).reshape({w.size(0), -1, 4}).sum(2) == 2).all().item<bool>(), name.c_str());
            }
        }
    }

    // One pass holds every batch's activations inside a block: a streamed model is refused with a
    // line naming the field; a cancelled one-pass run leaves the model as it was.
    void linear_order_refuses_streaming_and_cancels_cleanly() {
        ps::LoadOptions opt;
        opt.streaming = true;
        auto streamed = ps::Vlm::load(PS_DEFAULT_MODEL, opt);
        ps::Plan p = plan("wanda", 0.5);
        p.sequential = "linear";
        QVERIFY(ps_test::error_of([&] { run(*streamed, p); }).startsWith("sequential: \"linear\" holds every calibration batch's"));
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const at::Tensor before = model->forward(calib_[0]).logits_per_image;
        // cancelled by a batch inside the second vision block, after its first Linear was pruned
        ps::JobControl job;
        std::atomic<int> seen{0};
        model->weights().set_linear_adapter([&](const std::string& name, const at::Tensor&, const at::Tensor&, const at::Tensor&) {
            if (name.find("vision_model.encoder.layer.1.") != std::string::npos && ++seen == 2) job.cancel();
            return at::Tensor();
        });
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, run(*model, p, job));
        QVERIFY(seen >= 2);
        model->weights().set_linear_adapter(nullptr);
        QVERIFY(at::equal(model->forward(calib_[0]).logits_per_image, before));
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
            for (const auto& t : r.tensors) mean[method] += t.relative_error.value() / static_cast<double>(r.tensors.size());
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
            if (p.detail == "text block 0") job.cancel();  // after both vision blocks and a text block were pruned
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, run(*model, plan("wanda", 0.5), job));
        QVERIFY(at::equal(model->forward(calib_[0]).logits_per_image, before));
    }

    // Past the last block with a Linear to prune nothing runs: pruning the vision tower's first
    // block alone runs no other block (each block run reports), and the progress ends complete.
    void stops_after_the_last_target() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan("wanda", 0.5);
        p.targets = {"vision_model\\.encoder\\.layer\\.0\\..*"};
        ps::JobControl job;
        std::vector<ps::Progress> seen;
        job.on_progress = [&seen](const ps::Progress& pr) { seen.push_back(pr); };
        const ps::PruneResult r = run(*model, p, job);
        QVERIFY(!r.tensors.empty());
        for (const ps::TensorResult& t : r.tensors) QVERIFY2(t.name.find("layer.0.") != std::string::npos, t.name.c_str());
        QCOMPARE(seen.size(), size_t{1});
        QCOMPARE(seen.back().detail, std::string("vision block 0"));
        QCOMPARE(seen.back().done, seen.back().total);
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
        ps::write_pruned_checkpoint(*resident, p.to_json(), a, dir);
        auto reloaded = ps::Vlm::load(dir);
        QVERIFY(at::allclose(reloaded->forward(calib_[0]).logits_per_image, resident->forward(calib_[0]).logits_per_image, 0, 0));
        const ps::NamedTensors masks = ps::load_safetensors(dir + "/masks.safetensors");
        QCOMPARE(masks.size(), a.masks.size());
        for (const auto& [name, m] : masks) QVERIFY(at::equal(m.to(at::kBool), a.masks.at(name.substr(0, name.size() - 7))));
        for (const char* f : {"config.json", "vocab.txt", "preprocessor_config.json", "result.json", "plan.json"})
            QVERIFY2(std::filesystem::exists(dir + "/" + f), f);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_pruned_checkpoint(*resident, p.to_json(), a, dir));  // never overwrites
    }

    // A streaming run writing each block as it is pruned gives the same files, byte for byte, as a
    // resident run exported afterwards, and leaves the streamed model with its own weights.
    static void expect_streamed_export_equals_resident(const std::string& model_dir, const ps::Plan& p,
                                                       const std::vector<ps::VlmInputs>& calib, const std::string& out) {
        auto resident = ps::Vlm::load(model_dir);
        const ps::PruneResult a = ps::prune_model(*resident, p, ps::allocate(p, resident->map()), calib, {});
        ps::write_pruned_checkpoint(*resident, p.to_json(), a, out + "-resident");

        ps::LoadOptions opt;
        opt.streaming = true;
        auto streamed = ps::Vlm::load(model_dir, opt);
        const ps::VlmOutputs before = streamed->forward(calib[0]);
        ps::PruneResult b;
        {
            ps::PrunedCheckpointWriter writer(streamed->weights().checkpoint(), p.to_json(), out + "-streamed");
            b = ps::prune_model(*streamed, p, ps::allocate(p, streamed->map()), calib, {}, &writer);
            QVERIFY(!std::filesystem::exists(out + "-streamed"));  // under its temporary name until commit
            writer.commit(b);
        }
        QVERIFY(b.masks.empty());
        QCOMPARE(b.tensors.size(), a.tensors.size());
        QVERIFY(!a.masks.empty());
        for (const auto& [name, mask] : a.masks) QVERIFY2(!streamed->weights().overridden(name + ".weight"), name.c_str());
        const ps::VlmOutputs after = streamed->forward(calib[0]);
        QVERIFY(at::equal(after.logits_per_image.defined() ? after.logits_per_image : after.logits,
                          before.logits_per_image.defined() ? before.logits_per_image : before.logits));
        for (const char* f : {"/model.safetensors", "/masks.safetensors", "/plan.json", "/config.json"}) {
            const QByteArray x = ps_test::read_bytes(QString::fromStdString(out + "-resident" + f));
            QVERIFY2(!x.isEmpty(), f);
            QVERIFY2(x == ps_test::read_bytes(QString::fromStdString(out + "-streamed" + f)), f);
        }
        // Independently of the writer: untouched tensors are the source's, pruned ones the model's.
        const ps::Checkpoint written = ps::Checkpoint::open(out + "-streamed");
        QCOMPARE(written.names(), resident->weights().checkpoint().names());
        for (const std::string& name : written.names()) {
            const at::Tensor got = ps::tensor_view(written, name);
            const at::Tensor want = resident->weights().overridden(name) ? resident->weights().get(name)
                                                                          : ps::tensor_view(resident->weights().checkpoint(), name);
            QVERIFY2(at::equal(got, want), name.c_str());
        }
        const ps::NamedTensors masks = ps::load_safetensors(out + "-streamed/masks.safetensors");
        QCOMPARE(masks.size(), a.masks.size());
        for (const auto& [name, m] : masks) QVERIFY(at::equal(m.to(at::kBool), a.masks.at(name.substr(0, name.size() - 7))));
    }

    void streaming_export_equals_resident_default_model() {
        for (const std::string method : {"wanda", "sparsegpt"})
        {
            expect_streamed_export_equals_resident(PS_DEFAULT_MODEL, plan(method, 0.5), calib_,
                                                   tmp_.filePath(QString::fromStdString("export-" + method)).toStdString());
            if (QTest::currentTestFailed()) return;
        }
    }

    void streaming_export_equals_resident_llava_demo() {
        const std::string demo = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo, 5);
        const std::vector<ps::VlmInputs> calib{ps_test::demo_llava_prompts()};
        ps::Plan p = plan("sparsegpt", 0.5);
        p.model = demo;
        p.targets = {".*"};  // every block; the vision tower's last layer is not run (feature layer -2)
        expect_streamed_export_equals_resident(demo, p, calib, tmp_.filePath("demo-export").toStdString());
        if (QTest::currentTestFailed()) return;
        p.method = "wanda";
        p.pattern = "2:4";
        expect_streamed_export_equals_resident(demo, p, calib, tmp_.filePath("demo-export-24").toStdString());
        if (QTest::currentTestFailed()) return;
        // the projector too: pruned when the vision tower finishes, before the language tower
        p.pattern = "unstructured";
        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.5}, {"projector", 0.5}, {"language", 0.5}};
        expect_streamed_export_equals_resident(demo, p, calib, tmp_.filePath("demo-export-projector").toStdString());
    }

    void projector_wanda_matches_reference() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan("wanda", 0.5);
        p.targets = {".*layer\\.0\\..*", ".*_projection"};
        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.3}, {"language", 0.3}, {"projector", 0.5}};
        const ps::PruneResult r = run(*model, p);
        QCOMPARE(r.tensors.size(), size_t(12 + 2));
        // Reference: the pipeline's pruned blocks in a separate model, dense projections; a_j from
        // the pooled features that reach each projection there; Wanda per output row.
        auto ref = ps::Vlm::load(PS_DEFAULT_MODEL);
        for (const ps::TensorResult& t : r.tensors)
            if (t.block >= 0) ref->weights().set(t.name + ".weight", model->weights().get(t.name + ".weight"));
        for (const std::string name : {"visual_projection", "text_projection"}) {
            const ps::TensorResult* t = nullptr;
            for (const ps::TensorResult& x : r.tensors)
                if (x.name == name) t = &x;
            QVERIFY2(t, name.c_str());
            QCOMPARE(t->modality, std::string("projector"));
            QCOMPARE(t->block, -1);
            QCOMPARE(t->numel - t->nnz, t->numel / 2);
            at::Tensor sum;
            int64_t samples = 0;
            ref->weights().set_linear_tap([&](const std::string& n, const at::Tensor& x) {
                if (n != name) return;
                const at::Tensor s = x.to(at::kDouble).pow(2).reshape({-1, x.size(-1)}).sum(0);
                sum = sum.defined() ? sum + s : s;
                samples += x.size(0);
            });
            for (const auto& b : calib_) ref->forward(b);
            ref->weights().set_linear_tap(nullptr);
            const at::Tensor score = ref->weights().get(name + ".weight").to(at::kDouble).abs() * (sum / samples).sqrt();
            at::Tensor want = at::zeros_like(score, at::kBool);
            want.scatter_(1, std::get<1>(score.sort(true, 1, false)).slice(1, 0, score.size(1) / 2), true);
            QVERIFY2(at::equal(want, r.masks.at(name)), name.c_str());
        }
        const at::Tensor dense = ref->forward(calib_[0]).logits_per_image;
        QVERIFY(!at::allclose(model->forward(calib_[0]).logits_per_image, dense));  // the projections changed the outputs
    }

    void cancelled_streaming_export_leaves_nothing() {
        ps::LoadOptions opt;
        opt.streaming = true;
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL, opt);
        const at::Tensor before = model->forward(calib_[0]).logits_per_image;
        const ps::Plan p = plan("wanda", 0.5);
        const QString parent = tmp_.filePath("cancel");
        QVERIFY(QDir().mkpath(parent));
        const std::string out = (parent + "/pruned").toStdString();
        ps::JobControl job;
        job.on_progress = [&job](const ps::Progress& pr) {
            if (pr.detail == "text block 0") job.cancel();  // after both vision blocks and a text block were written
        };
        bool writing = false, cancelled = false;
        try {
            ps::PrunedCheckpointWriter writer(model->weights().checkpoint(), p.to_json(), out);
            writing = QDir(parent).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() == 1;
            ps::prune_model(*model, p, ps::allocate(p, model->map()), calib_, job, &writer);
            writer.commit({});
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(writing);  // the run had its temporary folder ...
        QVERIFY2(QDir(parent).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty(),
                 qPrintable(QDir(parent).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).join(", ")));
        for (const ps::LinearLayer& l : model->map().linears) QVERIFY(!model->weights().overridden(l.name + ".weight"));
        QVERIFY(at::equal(model->forward(calib_[0]).logits_per_image, before));
    }
};

QTEST_APPLESS_MAIN(TestPipeline)
#include "test_pipeline.moc"
