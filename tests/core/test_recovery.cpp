// Recovery training on the default model: the teacher's outputs during training are the dense
// model's; a run cancelled and resumed from its state file reaches the same losses at the same
// steps as an uninterrupted one; distillation lowers the KL to the dense model; the exported
// checkpoint keeps the mask exactly and reloads as a pruned checkpoint; a LLaVA demo trains with
// next-token cross-entropy, KL over the vocabulary and hidden-state MSE, gradients accumulated; a bad recovery section or
// an existing output folder is refused before any work.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/job/recovery_run.h"
#include "core/model/demo_checkpoint.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/recover/recovery.h"
#include "tests/core/demo_inputs.h"

class TestRecovery : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    static ps::Plan plan() {
        ps::Plan p;
        p.model = PS_DEFAULT_MODEL;
        p.method = "wanda";
        p.sparsity = 0.7;
        p.calibration.samples = 32;
        p.calibration.batch_size = 16;
        p.seed = 11;
        ps::RecoveryOptions& r = p.recovery;
        r.data_fraction = 0.01;  // 600 images
        r.batch_size = 32;
        r.max_steps = 8;
        r.checkpoint_every = 4;
        r.lr = 2e-3;
        r.kl = 1.0;
        r.hidden = 0.5;
        r.hidden_layers = {"vision.3", "text.5"};
        r.eval_samples = 200;
        return p;
    }

    // The default model pruned in memory by `p`, with its pruned Linears taken out (dense again).
    static ps::PrunedLinears prune(ps::Vlm& model, const ps::Plan& p) {
        const auto batches = ps::calibration_batches(model, p.calibration, p.seed);
        const ps::PruneResult r = ps::prune_model(model, p, ps::allocate(p, model.map()), batches, {});
        return ps::take_pruned_linears(model.weights(), r.masks);
    }

    std::vector<ps::RecoveryStepLog> train(const ps::Plan& p, const std::string& state, const ps::JobControl& job) {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Student s(*model, prune(*model, p), ps::student_options(p.recovery, p.seed));
        const ps::RecoveryData data(*model, p.recovery, p.calibration, p.seed);
        ps::RecoveryTrainer trainer(*model, s, data, p.recovery, p.seed);
        return trainer.run(state, nullptr, job).log;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        at::set_num_threads(1);  // one thread: ctest runs suites side by side on a small machine
    }

    void teacher_is_the_dense_model() {
        const ps::Plan p = plan();
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Student s(*model, prune(*model, p), ps::student_options(p.recovery, p.seed));
        const ps::RecoveryData data(*model, p.recovery, p.calibration, p.seed);
        QCOMPARE(data.examples(), int64_t(600));
        ps::RecoveryTrainer trainer(*model, s, data, p.recovery, p.seed);
        ps::Plan two = p;
        two.recovery.max_steps = 2;
        ps::RecoveryTrainer(*model, s, data, two.recovery, two.seed).run("", nullptr, {});  // the student has trained
        const ps::RecoveryBatch batch = data.batch(5);
        QCOMPARE(batch.inputs.pixel_values.size(0), int64_t(32));
        const ps::RecoveryTrainer::Losses l = trainer.losses(batch, std::nullopt);
        const ps::VlmOutputs dense = ps::Vlm::load(PS_DEFAULT_MODEL)->forward(batch.inputs, {true, {}});
        QVERIFY((l.teacher.logits_per_image - dense.logits_per_image).abs().max().item<double>() <= 1e-6);
        QVERIFY((l.teacher.hidden_states[0][0] - dense.hidden_states[0][4]).abs().max().item<double>() <= 1e-6);  // vision.3
        QVERIFY((l.teacher.hidden_states[0][1] - dense.hidden_states[1][6]).abs().max().item<double>() <= 1e-6);  // text.5
        QVERIFY(l.kl.item<double>() > 0);
        QVERIFY(l.hidden.item<double>() > 0);
        QVERIFY(l.total.requires_grad());
    }

    void resume_replays_the_run() {
        const ps::Plan p = plan();
        const auto full = train(p, "", {});
        QCOMPARE(full.size(), size_t(8));
        const std::string state = tmp_.filePath("state.safetensors").toStdString();
        ps::JobControl job;
        job.on_progress = [&](const ps::Progress& pr) {
            if (pr.stage == "recovery" && pr.done == 6) job.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, train(p, state, job));
        QVERIFY(std::filesystem::exists(state));  // written at step 4
        const auto resumed = train(p, state, {});
        QCOMPARE(resumed.size(), size_t(4));
        for (size_t k = 0; k < resumed.size(); ++k) {
            QCOMPARE(resumed[k].step, full[4 + k].step);
            QCOMPARE(resumed[k].loss, full[4 + k].loss);  // bit for bit
        }
        ps::Plan other = p;
        other.recovery.batch_size = 16;
        QVERIFY_THROWS_EXCEPTION(ps::Error, train(other, state, {}));  // a state of another run
    }

    void distillation_lowers_the_kl() {
        ps::Plan p = plan();
        p.recovery.max_steps = 40;
        p.recovery.task = 0;
        p.recovery.hidden = 0;
        const auto log = train(p, "", {});
        double first = 0, last = 0;
        for (int k = 0; k < 5; ++k) {
            first += log[k].kl;
            last += log[log.size() - 1 - k].kl;
        }
        QVERIFY2(last < 0.7 * first, (std::to_string(first / 5) + " -> " + std::to_string(last / 5)).c_str());
    }

    void export_keeps_the_mask() {
        for (const std::string mode : {"sparselora", "lora"}) {
            ps::Plan p = plan();
            p.recovery.mode = mode;
            p.recovery.max_steps = 3;
            auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
            ps::PrunedLinears pruned = prune(*model, p);
            const std::string out = tmp_.filePath(QString::fromStdString("recovered-" + mode)).toStdString();
            const ps::RecoveryReport r = ps::run_recovery(*model, pruned, p, out, "", {});
            QVERIFY(r.top1_dense && r.top1_pruned && r.top1_recovered);
            QVERIFY(*r.top1_pruned < *r.top1_dense);
            QCOMPARE(r.training.steps, int64_t(3));
            QVERIFY(std::filesystem::exists(out + "/result.json"));
            if (mode == "sparselora") {
                QCOMPARE(r.nnz_merged, r.nnz_pruned);
                QCOMPARE(r.nonzero_in_mask, int64_t(0));
                // The export is a pruned checkpoint again: zero wherever its mask prunes.
                const ps::PrunedLinears again = ps::load_pruned_linears(out, model->weights());
                QCOMPARE(again.size(), pruned.size());
                for (const auto& [name, q] : again) QVERIFY(at::equal(q.keep, pruned.at(name).keep));
                QVERIFY(!r.top1_repruned);
            } else {
                QVERIFY(r.nnz_merged > r.nnz_pruned);
                QVERIFY(r.nonzero_in_mask > 0);
                QVERIFY(r.top1_repruned.has_value());
                QVERIFY_THROWS_EXCEPTION(ps::Error, ps::load_pruned_linears(out, model->weights()));
            }
            // An existing output folder is refused and left as it was.
            const auto before = std::filesystem::last_write_time(out + "/model.safetensors");
            QVERIFY_THROWS_EXCEPTION(ps::Error, ps::run_recovery(*model, pruned, p, out, "", {}));
            QVERIFY(std::filesystem::last_write_time(out + "/model.safetensors") == before);
        }
    }

    void llava_next_token_recovery() {
        const std::string demo = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo, 5);
        const std::vector<ps::VlmInputs> calib{ps_test::demo_llava_prompts()};
        const at::Tensor dense = ps::Vlm::load(demo)->forward(calib[0]).logits;
        // The demo's weights and prompts are random: distillation alone must close the gap, by the
        // KL over the vocabulary or by the hidden-state MSE.
        struct Run {
            std::vector<ps::RecoveryStepLog> log;
            double teacher_gap = 0, task = 0;
            bool mask_kept = true;
        };
        const auto distil = [&](double kl, double hidden) {
            Run run;
            ps::Plan p;
            p.model = demo;
            p.method = "wanda";
            p.sparsity = 0.5;
            p.seed = 3;
            ps::RecoveryOptions& r = p.recovery;
            r.task = 0;
            r.kl = kl;
            r.hidden = hidden;
            r.hidden_layers = {"language.0"};
            r.grad_accum = 2;
            r.epochs = 24;  // one batch an epoch, two batches a step: 12 steps
            r.lr = 5e-3;
            r.dropout = 0;
            auto model = ps::Vlm::load(demo);
            const ps::PruneResult pr = ps::prune_model(*model, p, ps::allocate(p, model->map()), calib, {});
            ps::Student s(*model, ps::take_pruned_linears(model->weights(), pr.masks), ps::student_options(p.recovery, p.seed));
            const ps::RecoveryData data(calib, p.recovery, p.seed);
            ps::RecoveryTrainer trainer(*model, s, data, p.recovery, p.seed);
            const ps::RecoveryTrainer::Losses l = trainer.losses(data.batch(0), std::nullopt);
            run.teacher_gap = (l.teacher.logits - dense).abs().max().item<double>();
            run.task = l.task.item<double>();  // next-token cross-entropy
            run.log = trainer.run("", nullptr, {}).log;
            for (const auto& [name, q] : s.pruned()) {
                const at::Tensor m = s.merged(name, model->weights().get(name + ".weight"));
                run.mask_kept = run.mask_kept && m.masked_select(q.keep.logical_not()).contiguous().view(at::kInt).eq(0).all().item<bool>();
            }
            return run;
        };
        const Run by_kl = distil(1.0, 0.0), by_hidden = distil(0.0, 1.0);
        for (const Run* r0 : {&by_kl, &by_hidden}) {
            const Run& r = *r0;
            QVERIFY(r.teacher_gap <= 1e-6);
            QVERIFY(r.task > 0 && std::isfinite(r.task));
            QVERIFY(r.mask_kept);
            QCOMPARE(r.log.size(), size_t(12));
        }
        const auto& log = by_kl.log;
        QVERIFY2(log.back().kl < 0.5 * log.front().kl, (std::to_string(log.front().kl) + " -> " + std::to_string(log.back().kl)).c_str());
        const auto& hlog = by_hidden.log;
        QVERIFY2(hlog.back().hidden < 0.5 * hlog.front().hidden,
                 (std::to_string(hlog.front().hidden) + " -> " + std::to_string(hlog.back().hidden)).c_str());
    }

    void bad_recovery_sections() {
        const auto bad = [](const std::string& field, const nlohmann::json& value, const std::string& expected) {
            nlohmann::json j = plan().to_json();
            j["recovery"][field] = value;
            try {
                ps::Plan::from_json(j, "p.json");
                QFAIL(("accepted recovery." + field).c_str());
            } catch (const ps::Error& e) {
                QVERIFY2(std::string(e.what()).find("p.json: recovery." + field + ": " + expected) != std::string::npos, e.what());
            }
        };
        bad("mode", "qlora", "\"qlora\" is not sparselora, lora, full or projector");
        bad("data_fraction", 0, "must be in (0, 1]");
        bad("dropout", 1.0, "must be in [0, 1)");
        bad("hidden_layers", nlohmann::json::array({"vision3"}), "must be a list");
        bad("batch_size", 0, "0 is below 1");
        const ps::Plan round = ps::Plan::from_json(plan().to_json(), "p.json");
        QVERIFY(round.to_json() == plan().to_json());

        ps::Plan p = plan();
        p.recovery.hidden_layers = {"vision.9"};
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Student s(*model, prune(*model, p), ps::student_options(p.recovery, p.seed));
        const ps::RecoveryData data(*model, p.recovery, p.calibration, p.seed);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::RecoveryTrainer(*model, s, data, p.recovery, p.seed));
    }
};

QTEST_APPLESS_MAIN(TestRecovery)
#include "test_recovery.moc"
