// Sweeps on the default model: every point pruned and scored; the dense point and a 0/0 grid point
// score exactly what the unpruned model scores; nonzero parameters follow the achieved sparsity; a
// re-run reads every point from the cache without touching the model (its weights are garbage by then),
// an added sparsity runs only the new points, another evaluation size reruns; a cancelled sweep
// keeps the points it finished; token keep ratios: keep 1 costs the dense FLOPs and scores the same,
// fewer kept tokens cost what a hand count of the vision blocks says, and the FLOPs front is given;
// a sensitivity sweep feeds the sensitivity allocation; the Pareto fronts against a hand-made set;
// an N:M pattern is one point per method; the sweep records its checkpoint; bad specs are refused.
// The generative default swept by a question task: its headline metric scores the points, another
// metric of the task comes from the cache, a loss (answer NLL) turns the Pareto order around.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/data/fashion_mnist.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/data/prompts.h"
#include "core/eval/eval_set.h"
#include "core/eval/vqa_eval.h"
#include "core/eval/zero_shot.h"
#include "core/io/atomic_file.h"
#include "core/job/plan.h"
#include "core/job/sweep.h"
#include "core/model/processor.h"
#include "core/prune/allocation.h"
#include "core/prune/sensitivity_allocation.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestSweep : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps::Plan base_;
    ps::SweepSpec spec_;

    static size_t files_in(const std::string& dir) {
        return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {}));
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        const std::string model = tmp_.filePath("model").toStdString();
        fs::copy(PS_DEFAULT_MODEL, model, fs::copy_options::recursive);
        base_.model = model;
        base_.calibration.samples = 16;
        base_.calibration.batch_size = 16;
        spec_.methods = {"magnitude", "wanda"};
        spec_.sparsities = {0.3, 0.6};
        spec_.eval_limit = 300;
    }

    void runs_every_point_then_reads_the_cache() {
        const std::string cache = tmp_.filePath("cache").toStdString();
        const ps::SweepResult r = ps::run_sweep(base_, spec_, cache, {});
        qInfo("%s", r.to_text().c_str());
        QCOMPARE(r.points.size(), size_t(4));
        QCOMPARE(r.ran, 5);  // the dense point too
        QCOMPARE(r.cached, 0);
        QCOMPARE(files_in(cache), size_t(5));
        QCOMPARE(r.model, base_.model);  // what a report checks its run against
        QCOMPARE(ps::SweepResult::from_json(r.to_json(), "sweep.json").model, base_.model);
        // the dense accuracy is the unpruned model's on the same images
        auto m = ps::Vlm::load(base_.model);
        const ps::EvalSet set = ps::labelled_eval_set("t", ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test"),
                                                      ps::Processor(*m).image_config(), ps::zero_shot_templates(), 300);
        QCOMPARE(r.dense_accuracy, ps::zero_shot(*m, set, {}, {}).value());
        for (const ps::SweepPoint& p : r.points) {
            QVERIFY(p.accuracy >= 0 && p.accuracy <= 100);
            QVERIFY(std::abs(p.achieved - p.sparsity) < 1e-3);  // per-row counts: within one element per row
            QVERIFY(p.params_nonzero < p.params);
            QVERIFY(!p.cached);
        }
        QVERIFY(r.points[1].params_nonzero < r.points[0].params_nonzero);  // 0.6 prunes more than 0.3

        // reopen with the weights overwritten by garbage (same names, sizes and times, so the same
        // keys): every point comes from the cache; any model code would fail on that file
        const std::string weights = base_.model + "/model.safetensors", backup = tmp_.filePath("backup").toStdString();
        fs::copy_file(weights, backup);
        const auto mtime = fs::last_write_time(weights);
        std::FILE* f = std::fopen(weights.c_str(), "r+b");
        QVERIFY(f);
        std::fputs("garbage!", f);
        std::fclose(f);
        fs::last_write_time(weights, mtime);
        QVERIFY(!ps_test::error_of([&] { ps::Vlm::load(base_.model); }).isEmpty());
        const ps::SweepResult again = ps::run_sweep(base_, spec_, cache, {});
        QCOMPARE(again.ran, 0);
        QCOMPARE(again.cached, 5);
        QCOMPARE(again.dense_accuracy, r.dense_accuracy);
        for (size_t i = 0; i < r.points.size(); ++i) {
            QCOMPARE(again.points[i].accuracy, r.points[i].accuracy);
            QVERIFY(again.points[i].cached);
        }
        fs::copy_file(backup, weights, fs::copy_options::overwrite_existing);
        fs::last_write_time(weights, mtime);

        // one added sparsity: only its two points run
        ps::SweepSpec more = spec_;
        more.sparsities.push_back(0.5);
        const ps::SweepResult grown = ps::run_sweep(base_, more, cache, {});
        QCOMPARE(grown.ran, 2);
        QCOMPARE(grown.cached, 5);
        // another evaluation size is another key
        ps::SweepSpec other = spec_;
        other.methods = {"magnitude"};
        other.sparsities = {0.3};
        other.eval_limit = 200;
        QCOMPARE(ps::run_sweep(base_, other, cache, {}).ran, 2);
    }

    void modality_grid_zero_point_is_dense() {
        ps::SweepSpec grid;
        grid.vision = {0.0, 0.5};
        grid.language = {0.0, 0.5};
        grid.eval_limit = 300;
        const ps::SweepResult r = ps::run_sweep(base_, grid, tmp_.filePath("grid").toStdString(), {});
        QCOMPARE(r.points.size(), size_t(4));
        QCOMPARE(r.points[0].vision, 0.0);
        QCOMPARE(r.points[0].language, 0.0);
        QCOMPARE(r.points[0].accuracy, r.dense_accuracy);
        QCOMPARE(r.points[0].params_nonzero, r.points[0].params);
        QVERIFY(r.points[3].params_nonzero < r.points[1].params_nonzero);
        QVERIFY(r.points[3].params_nonzero < r.points[2].params_nonzero);
    }

    // One point per block, only that block pruned: its nonzero count drops by that block's share.
    void sensitivity_prunes_one_block_at_a_time() {
        ps::Plan p = base_;
        p.sparsity = 0.7;
        ps::SweepSpec s;
        s.sensitivity = true;
        s.eval_limit = 200;
        const auto plans = ps::sweep_plans(p, s);
        QCOMPARE(plans.size(), size_t(10));  // 4 vision + 6 text blocks
        QCOMPARE(plans[0].targets, std::vector<std::string>{"vision_model\\.encoder\\.layer\\.0\\..*"});
        const ps::SweepResult r = ps::run_sweep(p, s, tmp_.filePath("sensitivity").toStdString(), {});
        qInfo("%s", r.to_text().c_str());
        auto m = ps::Vlm::load(base_.model);
        for (const ps::SweepPoint& pt : r.points) {
            int64_t block = 0;
            for (const ps::LinearLayer& l : m->map().linears)
                if (l.group == pt.block && l.prunable) block += static_cast<int64_t>(l.params());
            const int64_t zeros = pt.params - pt.params_nonzero;
            QVERIFY2(std::abs(static_cast<double>(zeros) - 0.7 * block) <= 0.002 * block, pt.block.c_str());
        }
        // the table as allocation reads it: per tower the block with the largest drop is pruned least
        const std::string table = tmp_.filePath("sensitivity.json").toStdString();
        ps::write_file_atomic(table, r.to_json().dump());
        const ps::SparsityMap all = ps::allocate(ps::Plan{}, m->map());
        const ps::SparsityMap a = ps::sensitivity_allocate(m->map(), all, table, 0.5, 0.1);
        std::map<ps::Modality, std::pair<double, std::string>> most;  // tower -> largest drop, its block
        for (const ps::SweepPoint& pt : r.points)
            for (const ps::LinearLayer& l : m->map().linears)
                if (l.group == pt.block && (!most.count(l.modality) || r.dense_accuracy - pt.accuracy > most[l.modality].first))
                    most[l.modality] = {r.dense_accuracy - pt.accuracy, pt.block};
        for (const auto& [modality, drop] : most) {
            double lowest = 1, at_most = -1;
            for (const ps::LinearLayer& l : m->map().linears)
                if (a.count(l.name) && l.modality == modality) {
                    lowest = std::min(lowest, a.at(l.name));
                    if (l.group == drop.second) at_most = a.at(l.name);
                }
            QCOMPARE(at_most, lowest);
        }
    }

    // Vision tokens dropped after block 1: with dense weights, FLOPs per sample fall by exactly the
    // tokens blocks 2 and 3 no longer see, counted here from the config (Linears 2·N·out·in,
    // attention 2·2·N²·width).
    void token_keeps_give_the_flops_front() {
        ps::Plan p = base_;
        p.tokens.vision = {{1, 0.5}};
        ps::SweepSpec s;
        s.methods = {"wanda"};
        s.sparsities = {0.0, 0.5};
        s.keeps = {1.0, 0.5, 0.25};
        s.eval_limit = 200;
        const ps::SweepResult r = ps::run_sweep(p, s, tmp_.filePath("keeps").toStdString(), {});
        qInfo("%s", r.to_text().c_str());
        QCOMPARE(r.points.size(), size_t(6));
        QVERIFY(r.tokens_pruned());
        const auto m = ps::Vlm::load(base_.model);
        const int64_t n = 1 + (28 / 7) * (28 / 7);  // [CLS] + 16 patches
        double linear = 0;  // per token, one vision block
        for (const ps::LinearLayer& l : m->map().linears)
            if (l.modality == ps::Modality::Vision && l.block == 0) linear += 2.0 * static_cast<double>(l.out_features * l.in_features);
        const auto saved = [&](double keep) {
            const int64_t k = 1 + std::max<int64_t>(1, std::llround(keep * (n - 1)));
            return 2 * (linear * static_cast<double>(n - k) + 2 * 2.0 * 128 * static_cast<double>(n * n - k * k));
        };
        for (size_t i = 0; i < r.points.size(); ++i) {
            const ps::SweepPoint& pt = r.points[i];
            QCOMPARE(pt.tokens, pt.keep < 1.0);
            if (pt.sparsity == 0.0) {
                QVERIFY2(std::abs(r.dense_flops - pt.flops - saved(pt.keep)) < 1e-6 * r.dense_flops, pt.name.c_str());
                if (pt.keep == 1.0) QCOMPARE(pt.accuracy, r.dense_accuracy);
            } else {
                // unstructured zeros count, but a column pruned whole (matrix-wide Wanda in the vision
                // tower) is work no kernel needs to do: never more than the dense weights' count
                QVERIFY2(pt.flops <= r.points[i - 1].flops, pt.name.c_str());
            }
        }
        QVERIFY(r.points[4].flops < r.points[2].flops && r.points[2].flops < r.points[0].flops);
        const nlohmann::json j = r.to_json();
        QVERIFY(j.contains("pareto_front_flops"));
        QCOMPARE(j["pareto_front_flops"].size(), ps::pareto_front(r.points, ps::ParetoCost::Flops).size());
    }

    void cancel_keeps_finished_points() {
        const std::string cache = tmp_.filePath("cancelled").toStdString();
        ps::JobControl job;
        job.on_progress = [&](const ps::Progress& p) {
            if (p.stage == "sweep" && p.done == 2) job.cancel();
        };
        bool cancelled = false;
        try {
            ps::run_sweep(base_, spec_, cache, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(files_in(cache), size_t(2));
        QCOMPARE(ps::run_sweep(base_, spec_, cache, {}).cached, 2);
    }

    void pareto_front_by_hand() {
        std::vector<ps::SweepPoint> pts(5);
        const int64_t params[] = {100, 80, 60, 60, 40};
        const double acc[] = {90, 85, 70, 80, 60};
        for (int i = 0; i < 5; ++i) {
            pts[i].params_nonzero = params[i];
            pts[i].accuracy = acc[i];
        }
        QCOMPARE(ps::pareto_front(pts), (std::vector<size_t>{4, 3, 1, 0}));
        pts[1].accuracy = 75;  // dominated by the 60-parameter point at 80
        QCOMPARE(ps::pareto_front(pts), (std::vector<size_t>{4, 3, 0}));
        // against FLOPs, another order of cost
        const double flops[] = {10, 50, 20, 40, 30};
        for (int i = 0; i < 5; ++i) pts[i].flops = flops[i];
        QCOMPARE(ps::pareto_front(pts, ps::ParetoCost::Flops), (std::vector<size_t>{0}));
        pts[0].accuracy = 50;
        QCOMPARE(ps::pareto_front(pts, ps::ParetoCost::Flops), (std::vector<size_t>{0, 2, 3}));
        // a loss (answer NLL): lower is better
        const double loss[] = {1.0, 1.2, 1.5, 1.3, 2.0};
        for (int i = 0; i < 5; ++i) pts[i].accuracy = loss[i];
        QCOMPARE(ps::pareto_front(pts, ps::ParetoCost::Params, true), (std::vector<size_t>{4, 3, 1, 0}));
        pts[1].accuracy = 1.4;  // worse than the 60-parameter point at 1.3
        QCOMPARE(ps::pareto_front(pts, ps::ParetoCost::Params, true), (std::vector<size_t>{4, 3, 0}));
    }

    void generative_task_and_metric() {
        // The generative default scored by POPE-style yes/no questions on 8 test images (32 questions).
        ps::Plan base;
        base.model = PS_DEFAULT_VLM;
        base.calibration.samples = 4;
        base.calibration.batch_size = 4;
        ps::SweepSpec spec;
        spec.methods = {"magnitude"};
        spec.sparsities = {0.5};
        spec.eval_limit = 8;
        base.evaluation.task = "yes-no";
        const std::string cache = tmp_.filePath("generative").toStdString();
        const ps::SweepResult r = ps::run_sweep(base, spec, cache, {});
        qInfo("%s", r.to_text().c_str());
        QCOMPARE(r.task, std::string("yes-no"));
        QCOMPARE(r.metric, std::string("f1"));  // the task's headline
        QVERIFY(!r.lower_is_better);
        QCOMPARE(r.ran, 2);
        // the dense score is the dense model's on the same questions
        auto m = ps::Vlm::load(base.model);
        const ps::VqaSet questions = ps::fashion_mnist_vqa(ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test"), ps::VqaKind::YesNo, 8);
        const ps::EvalResult dense = ps::evaluate_vqa(*m, questions, {}, {}).metrics;
        QCOMPARE(r.dense_accuracy, dense.metric("f1"));

        // another metric of the same task comes from the cache; NLL is a loss, and pruning half of every
        // weight by magnitude raises it
        base.evaluation.metric = "answer_nll";
        const ps::SweepResult nll = ps::run_sweep(base, spec, cache, {});
        QCOMPARE(nll.cached, 2);
        QCOMPARE(nll.ran, 0);
        QVERIFY(nll.lower_is_better);
        QCOMPARE(nll.dense_accuracy, dense.metric("answer_nll"));
        QVERIFY(nll.points[0].accuracy > nll.dense_accuracy);
        QCOMPARE(nll.metric_label(), std::string("yes-no answer_nll (nats)"));
        QVERIFY(std::abs(nll.drop(nll.points[0].accuracy) - (nll.points[0].accuracy - nll.dense_accuracy)) < 1e-12);

        // a metric the task does not give, a task of the other kind, and the dense-needing KL are refused
        base.evaluation.metric = "letter_accuracy";
        QVERIFY(ps_test::error_of([&] { ps::run_sweep(base, spec, cache, {}); }).contains("task yes-no gives no \"letter_accuracy\""));
        base.evaluation.metric = "answer_kl";
        QVERIFY(ps_test::error_of([&] { ps::run_sweep(base, spec, cache, {}); }).contains("needs the dense model"));
        base.evaluation.metric.clear();
        base.evaluation.task = "zero-shot";
        QVERIFY(ps_test::error_of([&] { ps::run_sweep(base, spec, cache, {}); }).contains("not a task of generative models"));
        ps::Plan dual = base_;
        dual.evaluation.task = "open";
        QVERIFY(ps_test::error_of([&] { ps::run_sweep(dual, spec, cache, {}); }).contains("not a task of dual encoders"));
    }

    void bad_specs_are_refused() {
        ps::SweepSpec s;
        s.methods = {"width"};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(base_, s); }).contains("not an unstructured / N:M method"));
        s.methods = {"wanda"};
        s.sparsities = {1.0};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(base_, s); }).contains("outside [0, 1)"));
        // a per-modality split keeps its proportions (language-only stays language-only)
        ps::Plan split = base_;
        split.sparsity = 0.5;
        split.allocation.kind = "modality";
        split.allocation.modality = {{"vision", 0.0}, {"language", 0.5}};
        s.sparsities = {0.2, 0.8};
        const auto plans = ps::sweep_plans(split, s);
        QCOMPARE(plans[0].allocation.modality.at("language"), 0.2);
        QCOMPARE(plans[1].allocation.modality.at("vision"), 0.0);
        split.allocation.modality = {{"vision", 0.3}, {"language", 0.7}};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(split, s); }).contains("allocation.language (scaled to sparsity 80%)"));
        // methods x patterns x sparsities, in that order; a bad N:M is named
        ps::SweepSpec grid;
        grid.methods = {"wanda", "magnitude"};
        grid.patterns = {"unstructured", "2:4"};
        grid.sparsities = {0.5};
        const auto mps = ps::sweep_plans(base_, grid);
        QCOMPARE(mps.size(), size_t(4));
        QCOMPARE(mps[1].pattern, std::string("2:4"));
        QCOMPARE(mps[2].method, std::string("magnitude"));
        // an N:M pattern prunes N/M whatever the target: one point per method, not one per sparsity
        grid.sparsities = {0.3, 0.6, 0.9};
        const auto nm = ps::sweep_plans(base_, grid);
        QCOMPARE(nm.size(), size_t(2 * (3 + 1)));
        QCOMPARE(nm[3].pattern, std::string("2:4"));
        QCOMPARE(nm[3].sparsity, 0.5);
        QCOMPARE(nm[4].method, std::string("magnitude"));
        grid.patterns = {"4:2"};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(base_, grid); }).contains("4:2"));
        s.sparsities.clear();
        s.vision = {0.5};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(base_, s); }).contains("both vision and language"));
        // keep ratios need a Plan that prunes tokens, a methods sweep, and ratios in (0, 1]
        ps::SweepSpec k;
        k.keeps = {0.5};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(base_, k); }).contains("the Plan prunes no tokens"));
        ps::Plan tokens = base_;
        tokens.tokens.vision = {{2, 0.5}};
        QCOMPARE(ps::sweep_plans(tokens, k)[0].tokens.vision.at(2), 0.5);
        k.keeps = {0.0};
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(tokens, k); }).contains("outside (0, 1]"));
        k.keeps = {0.5};
        k.sensitivity = true;
        QVERIFY(ps_test::error_of([&] { ps::sweep_plans(tokens, k); }).contains("not with a modality grid or sensitivity"));
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "test_sweep.moc"
