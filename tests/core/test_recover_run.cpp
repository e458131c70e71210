// One recovery run from a Plan on the default model: every training step reaches the step callback
// with the values result.json logs, evaluated steps with their accuracy; a run cancelled from the
// callback leaves no output folder but its state file, and the same call resumes from the last
// saved step and repeats the uninterrupted run's losses; an existing output folder, a Plan without
// a model and a method that removes weights are refused before any work. The recovered run's
// plan.json names the pruning of its source run, not the Plan's own pruning settings.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <optional>
#include <vector>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/recover_run.h"
#include "tests/short_recovery_plan.h"
#include "tests/test_support.h"

class TestRecoverRun : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::string pruned_;
    std::vector<ps::RecoveryStepLog> uninterrupted_;

    ps::Plan plan() const {
        ps::Plan p = ps_test::short_recovery_plan(PS_DEFAULT_MODEL, 5);
        p.recovery.pruned = pruned_;
        return p;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        ps::Plan p = plan();
        p.targets = {"text_model\\.encoder\\.layer\\.[01]\\..*", "vision_model\\.encoder\\.layer\\.0\\..*"};
        pruned_ = tmp_.filePath("pruned").toStdString();
        ps::run_prune(p, pruned_, {});
    }

    void stepsReachTheCallback() {
        const std::string out = tmp_.filePath("recovered").toStdString();
        std::vector<std::pair<ps::RecoveryStepLog, std::optional<double>>> seen;
        const ps::RecoverRunSummary s =
            ps::run_recover(plan(), out, "", {}, [&](const ps::RecoveryStepLog& step, std::optional<double> top1) { seen.emplace_back(step, top1); });
        QCOMPARE(s.out_dir, out);
        QVERIFY(s.result == ps::read_json_file(out + "/result.json"));
        const auto& log = s.result["recovery"]["log"];
        QCOMPARE(seen.size(), size_t(6));
        QCOMPARE(log.size(), seen.size());
        for (size_t i = 0; i < seen.size(); ++i) {
            QCOMPARE(seen[i].first.step, int64_t(i + 1));
            QCOMPARE(seen[i].first.loss, log[i]["loss"].get<double>());
            QCOMPARE(seen[i].first.kl, log[i]["kl"].get<double>());
            QCOMPARE(seen[i].second.has_value(), (i + 1) % 3 == 0);
            uninterrupted_.push_back(seen[i].first);
        }
        const auto& evals = s.result["recovery"]["evals"];
        QCOMPARE(evals.size(), size_t(2));
        QCOMPARE(*seen[5].second, evals[1]["zero_shot_top1"].get<double>());
        QVERIFY(s.result["zero_shot_top1"].contains("pruned") && s.result["zero_shot_top1"].contains("recovered"));
        QVERIFY(QString::fromStdString(s.text).startsWith("recovery sparselora:"));
        // The recovered run records the pruning its source was made by (its targets, not this Plan's
        // ".*") with this Plan's recovery.
        const nlohmann::json written = ps::read_json_file(out + "/plan.json"), made = ps::read_json_file(pruned_ + "/plan.json");
        QVERIFY(written["targets"] == made["targets"]);
        QVERIFY(written["recovery"] == plan().to_json()["recovery"]);
    }

    void cancelledThenResumed() {
        QVERIFY(uninterrupted_.size() == 6);
        const std::string out = tmp_.filePath("resumed").toStdString(), state = out + ".state";
        ps::JobControl job;
        int64_t last = 0;
        auto on_step = [&](const ps::RecoveryStepLog& step, std::optional<double>) {
            last = step.step;
            if (step.step == 3) job.cancel();  // after step 2's state was saved
        };
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, ps::run_recover(plan(), out, state, job, on_step));
        QCOMPARE(last, int64_t(3));
        QVERIFY(!std::filesystem::exists(out));
        QVERIFY(std::filesystem::exists(state));

        std::vector<ps::RecoveryStepLog> resumed;
        const ps::RecoverRunSummary s =
            ps::run_recover(plan(), out, state, {}, [&](const ps::RecoveryStepLog& step, std::optional<double>) { resumed.push_back(step); });
        QCOMPARE(s.result["recovery"]["first_step"].get<int64_t>(), int64_t(2));
        QCOMPARE(resumed.size(), size_t(4));
        for (const ps::RecoveryStepLog& r : resumed) {
            const ps::RecoveryStepLog& u = uninterrupted_[static_cast<size_t>(r.step - 1)];
            QCOMPARE(r.loss, u.loss);
            QCOMPARE(r.task, u.task);
            QCOMPARE(r.kl, u.kl);
        }
    }

    void refusedBeforeWork() {
        const QString existing = tmp_.filePath("recovered");  // from stepsReachTheCallback
        QVERIFY(ps_test::error_of([&] { ps::run_recover(plan(), existing.toStdString(), "", {}); })
                    .startsWith(existing + ": already exists"));
        ps::Plan none = plan();
        none.model.clear();
        QCOMPARE(ps_test::error_of([&] { ps::run_recover(none, tmp_.filePath("a").toStdString(), "", {}); }),
                 QString("plan: names no model"));
        ps::Plan width = plan();
        width.recovery.pruned.clear();
        width.method = "width";
        QVERIFY(ps_test::error_of([&] { ps::run_recover(width, tmp_.filePath("b").toStdString(), "", {}); })
                    .startsWith("plan.method: recovery keeps a pruning mask"));
        QVERIFY(!QDir(tmp_.filePath("a")).exists() && !QDir(tmp_.filePath("b")).exists());
    }
};

QTEST_MAIN(TestRecoverRun)
#include "test_recover_run.moc"
