// Export to a Hugging Face folder: unstructured, 2:4, width- and depth-pruned runs of the default
// model each export with their masks / Plan / Result, the method in the weights' metadata, and
// load in transformers with the same logits as our engine's model (<= 1e-4); bfloat16 export casts
// every floating tensor; an existing folder needs force and is replaced only when the new one is
// complete; a cancelled export leaves no folder, no temporary and the old folder as it was.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include <ATen/core/grad_mode.h>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/depth.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/prune/width.h"
#include "core/report/export.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestExport : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::vector<ps::VlmInputs> calib_;

    std::string path(const char* name) const { return tmp_.filePath(name).toStdString(); }


    // A sparse run of `plan` written as PruneStudio writes it.
    std::string sparse_run(const ps::Plan& plan, const char* name) {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::PruneResult r = ps::prune_model(*m, plan, ps::allocate(plan, m->map()), calib_, {});
        ps::write_pruned_checkpoint(*m, plan.to_json(), r, path(name));
        return path(name);
    }

    // Exports `run`, checks the folder, and runs it in transformers against our engine.
    void export_and_compare(const std::string& run, const std::string& method, bool masks) {
        const std::string out = run + "-hf";
        const ps::ExportSummary s = ps::export_checkpoint(run, out, {}, {});
        QCOMPARE(s.method, method);
        QCOMPARE(s.masks, masks);
        QCOMPARE(fs::exists(out + "/prunestudio_masks.safetensors"), masks);
        for (const char* f : {"config.json", "vocab.txt", "preprocessor_config.json", "plan.json"})
            QVERIFY2(fs::exists(out + "/" + f), f);
        QVERIFY(!fs::exists(out + "/masks.safetensors"));
        const ps::Checkpoint ckpt = ps::Checkpoint::open(out);
        QCOMPARE(ckpt.shards().size(), size_t(1));
        QCOMPARE(ckpt.shards()[0]->metadata().at("prunestudio_method"), method);
        QCOMPARE(ckpt.names().size(), ps::Checkpoint::open(run).names().size());

        at::NoGradGuard no_grad;
        const at::Tensor ours = ps::Vlm::load(out)->forward(calib_[0]).logits_per_image;
        QVERIFY(at::equal(ours, ps::Vlm::load(run)->forward(calib_[0]).logits_per_image));
        const std::string inputs = path("inputs.safetensors"), ref = out + "-ref.safetensors";
        if (!fs::exists(inputs))
            ps::save_safetensors(inputs, {{"input_ids", calib_[0].input_ids},
                                          {"attention_mask", calib_[0].attention_mask},
                                          {"pixel_values", calib_[0].pixel_values}});
        const auto py = ps_test::run_python("depth_reference.py", {QString::fromStdString(out), QString::fromStdString(inputs),
                                                                   QString::fromStdString(ref)});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const double d = ps_test::max_abs_diff(ours, ps::load_safetensors(ref).at(0).second);
        qInfo("%s: exported %lld tensors; transformers vs our engine: max abs diff %.3g", method.c_str(),
              static_cast<long long>(s.tensors), d);
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 16;
        c.batch_size = 16;
        calib_ = ps::calibration_batches(*m, c, 0);
    }

    void unstructured_and_two_four_load_in_transformers() {
        ps::Plan p;
        p.sparsity = 0.5;
        export_and_compare(sparse_run(p, "wanda50"), "wanda", true);
        p.pattern = "2:4";
        export_and_compare(sparse_run(p, "wanda24"), "wanda", true);
    }

    void width_and_depth_load_in_transformers() {
        ps::Plan w;
        w.method = "width";
        w.pattern = "structured";
        w.sparsity = 0.25;
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::WidthResult wr = ps::prune_width(*m, w, calib_, {});
        ps::write_width_pruned_checkpoint(*m, w.to_json(), wr, path("width25"));
        export_and_compare(path("width25"), "width", false);

        auto d = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan dp;
        dp.method = "depth";
        dp.pattern = "structured";
        ps::write_depth_pruned_checkpoint(*d, {{1, {1, 4}}}, path("depth2"), dp.to_json());
        export_and_compare(path("depth2"), "depth", false);
    }

    void bfloat16_export_casts_floating_tensors() {
        const std::string run = path("wanda50"), out = path("wanda50-bf16");
        ps::ExportOptions opt;
        opt.dtype = "bfloat16";
        ps::export_checkpoint(run, out, opt, {});
        const ps::Checkpoint ckpt = ps::Checkpoint::open(out);
        for (const std::string& n : ckpt.names()) {
            const ps::DType t = ckpt.at(n).info->dtype;
            QVERIFY2(t == ps::DType::BF16 || t == ps::DType::I64, n.c_str());
        }
        at::NoGradGuard no_grad;
        const at::Tensor a = ps::Vlm::load(out)->forward(calib_[0]).logits_per_image;
        const at::Tensor b = ps::Vlm::load(run)->forward(calib_[0]).logits_per_image;
        const double rel = ps_test::max_abs_diff(a, b) / b.abs().max().item<double>();
        qInfo("bfloat16 export: logits relative max diff %.3g", rel);
        QVERIFY(rel < 5e-2);
        QVERIFY(fs::file_size(out + "/model.safetensors") < 0.6 * fs::file_size(run + "/model.safetensors"));
        QVERIFY(ps_test::error_of([&] {
                    ps::ExportOptions bad;
                    bad.dtype = "int8";
                    ps::export_checkpoint(run, path("int8"), bad, {});
                }).contains("--dtype"));
        QVERIFY(!fs::exists(path("int8")));
    }

    void existing_folder_needs_force_and_cancel_leaves_nothing() {
        const std::string run = path("wanda50"), out = path("wanda50-hf");
        QVERIFY(fs::exists(out));
        QVERIFY(ps_test::error_of([&] { ps::export_checkpoint(run, out, {}, {}); }).contains("pass --force"));
        ps_test::write_bytes(QString::fromStdString(out + "/old-marker"), "x");

        // cancelled while replacing: the old folder stays as it was, no temporary is left
        ps::JobControl job;
        job.on_progress = [&](const ps::Progress& p) {
            if (p.done == 5) job.cancel();
        };
        ps::ExportOptions force;
        force.force = true;
        bool cancelled = false;
        try {
            ps::export_checkpoint(run, out, force, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(fs::exists(out + "/old-marker"));
        for (const auto& e : fs::directory_iterator(tmp_.path().toStdString()))
            QVERIFY2(e.path().string().find(".prunestudio") == std::string::npos && e.path().string().find(".tmp") == std::string::npos,
                     e.path().c_str());
        // a fresh folder cancelled: nothing at all
        cancelled = false;
        try {
            ps::export_checkpoint(run, path("fresh"), {}, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(!fs::exists(path("fresh")));

        ps::export_checkpoint(run, out, force, {});
        QVERIFY(!fs::exists(out + "/old-marker"));
        QVERIFY(fs::exists(out + "/model.safetensors"));
        QVERIFY(ps_test::error_of([&] { ps::export_checkpoint(path("nothing"), path("n2"), {}, {}); }).contains("nothing"));
    }
};

QTEST_GUILESS_MAIN(TestExport)
#include "test_export.moc"
