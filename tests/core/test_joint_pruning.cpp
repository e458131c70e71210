// CoMP-style joint pruning on the default model: the scheduler reaches the FLOPs target within 2%,
// every stage records the cost of each mode it tried and applies one of them, the FLOPs it reports
// are the accounting of the pruned model; restricted to token modes it touches no weight; a
// cancelled run leaves the model as it was; the written checkpoint reloads and, with its plan.json's
// token pruning, runs as the pruned model in memory.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/prune/calibration.h"
#include "core/prune/joint_pruning.h"
#include "core/token/flops.h"
#include "tests/test_support.h"

class TestJointPruning : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::vector<ps::VlmInputs> calib_;

    static ps::Plan plan(double target) {
        ps::Plan p;
        p.method = "comp";
        p.pattern = "structured";
        p.joint.flops_reduction = target;
        p.joint.step = 0.1;
        p.joint.vision_after = 0;
        p.joint.language_after = 1;
        return p;
    }

    static size_t overrides(const ps::Vlm& m) {
        size_t n = 0;
        for (const auto& name : m.weights().checkpoint().names()) n += m.weights().overridden(name);
        return n;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 32;
        c.batch_size = 16;
        calib_ = ps::calibration_batches(*m, c, 0);
    }

    void reaches_the_target_and_records_the_path() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Plan p = plan(0.4);
        const ps::JointResult r = ps::prune_joint(*m, p, calib_, {});
        qInfo("%s", r.to_text().c_str());
        QVERIFY2(r.note.empty(), r.note.c_str());
        QVERIFY2(r.reduction() >= 0.4 - 1e-9 && r.reduction() <= 0.42, qPrintable(QString::number(r.reduction())));
        QVERIFY(r.stages.size() >= 4);
        double last = 1.0;
        for (const ps::JointStage& s : r.stages) {
            QVERIFY(s.blended.count(s.mode));
            QVERIFY(!s.explored);  // greedy by default
            QCOMPARE(s.measured.size(), s.blended.size());
            QVERIFY(s.flops_fraction < last);
            last = s.flops_fraction;
            QVERIFY(std::isfinite(s.loss));
        }
        QVERIFY(std::abs(last - (1 - r.reduction())) < 1e-12);
        // the reported FLOPs are the accounting of the model as pruned
        const double recount = ps::block_flops(*m, ps::token_counts(*m, r.tokens, r.vision_tokens, r.language_tokens)).total();
        QVERIFY(std::abs(recount - r.flops) <= 1e-9 * r.flops);
        QVERIFY(m->token_hook().apply || !r.tokens.active());
        size_t heads = 0, channels = 0;
        for (const auto& b : r.removed) heads += b.heads.size(), channels += b.channels.size();
        QCOMPARE(heads + channels > 0, overrides(*m) > 0);

        // export: reloads, and with plan.json's token pruning runs as the model in memory
        const std::string dir = tmp_.filePath("comp").toStdString();
        ps::write_joint_pruned_checkpoint(*m, p.to_json(), r, dir);
        const ps::Plan written = ps::Plan::load(dir + "/plan.json");
        QVERIFY(written.tokens.to_json() == r.tokens.to_plan().to_json());
        QCOMPARE(ps::read_json_file(dir + "/result.json")["method"].get<std::string>(), std::string("comp"));
        auto reloaded = ps::Vlm::load(dir);
        ps::install_token_pruning(*reloaded, ps::TokenPruning::from_plan(written.tokens, *reloaded));
        const double d = (reloaded->forward(calib_[0]).logits_per_image - m->forward(calib_[0]).logits_per_image).abs().max().item<double>();
        QVERIFY2(d <= 1e-5, qPrintable(QString::number(d)));
        QVERIFY(!ps_test::error_of([&] { ps::write_joint_pruned_checkpoint(*m, p.to_json(), r, dir); }).isEmpty());
    }

    void token_modes_alone_touch_no_weight() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan(0.3);
        p.joint.modes = {"vision-tokens", "language-tokens"};
        const ps::JointResult r = ps::prune_joint(*m, p, calib_, {});
        for (const auto& s : r.stages) QVERIFY(s.mode == "vision-tokens" || s.mode == "language-tokens");
        QCOMPARE(overrides(*m), size_t(0));
        QVERIFY(r.tokens.active());
        QVERIFY(r.reduction() >= 0.3 - 1e-9);
        qInfo("token modes only: %.1f%% removed, vision keep %.3f, language keep %.3f, loss %.4f -> %.4f", 100 * r.reduction(),
              r.tokens.vision.empty() ? 1.0 : r.tokens.vision.begin()->second,
              r.tokens.language.empty() ? 1.0 : r.tokens.language.begin()->second, r.dense_loss, r.loss);
    }

    // A registered token method as the token mode: the vision-tokens mode sets its keep ratio (the
    // language-tokens mode has none to set), and the result and plan.json name it.
    void any_token_method_as_the_token_mode() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan(0.05);  // the vision tower is about 9 % of the default's block FLOPs
        p.joint.step = 0.05;
        p.joint.modes = {"vision-tokens", "language-tokens"};
        p.joint.token_method = "received";
        const ps::JointResult r = ps::prune_joint(*m, p, calib_, {});
        for (const auto& s : r.stages) QCOMPARE(s.mode, std::string("vision-tokens"));
        QCOMPARE(r.tokens.source.method, std::string("received"));
        QVERIFY(r.tokens.source.keep < 1.0);
        QVERIFY2(r.reduction() >= 0.05 - 1e-9, r.note.c_str());
        QCOMPARE(r.to_json()["tokens"]["method"].get<std::string>(), std::string("received"));
        qInfo("received as the token mode: keep %.3f, %.1f%% removed", r.tokens.source.keep, 100 * r.reduction());
        p.joint.token_method = "dart";
        QVERIFY(ps_test::error_of([&] { ps::prune_joint(*m, p, calib_, {}); }).contains("joint.token_method: dart"));
    }

    // ρ = 1: every stage with a choice draws its mode from softmax(waiting / τ) instead of the cheapest.
    void exploration_draws_by_waiting_time() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan(0.2);
        p.joint.step = 0.05;
        p.joint.rho = 1.0;
        p.seed = 3;
        const ps::JointResult r = ps::prune_joint(*m, p, calib_, {});
        int explored = 0, greedy_differs = 0;
        for (const auto& s : r.stages) {
            if (s.blended.size() < 2) continue;
            QVERIFY(s.explored);
            ++explored;
            const auto cheapest = std::min_element(s.blended.begin(), s.blended.end(),
                                                   [](const auto& a, const auto& b) { return a.second < b.second; });
            greedy_differs += cheapest->first != s.mode;
        }
        qInfo("rho 1: %d stages explored, %d of them not the cheapest mode", explored, greedy_differs);
        QVERIFY(explored >= 3);
        QVERIFY(greedy_differs >= 1);
        QVERIFY(r.reduction() >= 0.2 - 1e-9);
    }

    void cancel_leaves_the_model_as_it_was() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const at::Tensor before = m->forward(calib_[0]).logits_per_image;
        ps::JobControl job;
        int reports = 0;
        job.on_progress = [&](const ps::Progress& pr) {
            if (pr.detail.find("stage 3") != std::string::npos && ++reports == 1) job.cancel();
        };
        bool cancelled = false;
        try {
            ps::prune_joint(*m, plan(0.5), calib_, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(overrides(*m), size_t(0));
        QVERIFY(!m->token_hook().apply);
        QVERIFY(at::equal(m->forward(calib_[0]).logits_per_image, before));
    }

    void bad_plans_are_refused() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p = plan(0.5);
        p.method = "wanda";
        QVERIFY(ps_test::error_of([&] { ps::prune_joint(*m, p, calib_, {}); }).contains("method comp"));
        p = plan(0.5);
        p.joint.vision_after = 4;
        QVERIFY(ps_test::error_of([&] { ps::prune_joint(*m, p, calib_, {}); }).contains("joint.vision_after"));
        QVERIFY(ps_test::error_of([&] { ps::prune_joint(*m, plan(0.5), {}, {}); }).contains("calibration"));
        QCOMPARE(overrides(*m), size_t(0));
    }
};

QTEST_GUILESS_MAIN(TestJointPruning)
#include "test_joint_pruning.moc"
