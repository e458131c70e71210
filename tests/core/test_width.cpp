// Structured width pruning: Taylor and activation group scores equal what transformers' autograd
// and forward hooks give (tests/python/width_reference.py) on the default model and the LLaVA demo;
// the lowest-scored groups go, the same number in every block; the pruned model runs in memory as
// its written checkpoint runs in our engine and in transformers (config rewritten: intermediate_size,
// and for LLaMA heads / key-value heads / head_dim); bad Plans and cancelled runs change nothing.
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "core/io/json_util.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/model/demo_checkpoint.h"
#include "core/prune/calibration.h"
#include "core/prune/width.h"
#include "tests/core/demo_inputs.h"
#include "tests/test_support.h"

namespace {

double max_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

ps::Plan width_plan(double ratio, const std::string& score) {
    ps::Plan p;
    p.method = "width";
    p.pattern = "structured";
    p.sparsity = ratio;
    p.structured.score = score;
    return p;
}

// Largest |ours − theirs| over the largest |theirs|, over every block.
double relative_gap(const std::vector<std::vector<double>>& ours, const nlohmann::json& theirs) {
    double gap = 0, scale = 0;
    if (ours.size() != theirs.size()) return INFINITY;
    for (size_t b = 0; b < ours.size(); ++b) {
        if (ours[b].size() != theirs[b].size()) return INFINITY;
        for (size_t i = 0; i < ours[b].size(); ++i) {
            gap = std::max(gap, std::abs(ours[b][i] - theirs[b][i].get<double>()));
            scale = std::max(scale, std::abs(theirs[b][i].get<double>()));
        }
    }
    return scale > 0 ? gap / scale : gap;
}

// The removed groups of every block are exactly the `count` lowest of the reference scores, unless
// the reference's count-th and next scores tie within `tol` (then either choice is right).
void expect_lowest(const std::vector<std::vector<int64_t>>& removed, const nlohmann::json& reference, size_t count, double tol) {
    QCOMPARE(removed.size(), reference.size());
    for (size_t b = 0; b < removed.size(); ++b) {
        QCOMPARE(removed[b].size(), count);
        std::vector<double> s = reference[b].get<std::vector<double>>();
        std::vector<int64_t> order(s.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s[x] < s[y]; });
        if (count < s.size() && std::abs(s[order[count]] - s[order[count - 1]]) <= tol * std::abs(s[order[count]])) continue;
        std::vector<int64_t> expected(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
        std::sort(expected.begin(), expected.end());
        QVERIFY2(removed[b] == expected, qPrintable(QString("block %1").arg(b)));
    }
}

void save_inputs(const ps::VlmInputs& in, const std::string& path) {
    ps::save_safetensors(path, {{"pixel_values", in.pixel_values.contiguous()}, {"input_ids", in.input_ids.contiguous()},
                                {"attention_mask", in.attention_mask.contiguous()}});
}

}  // namespace

class TestWidth : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps::VlmInputs dual_;   // one calibration batch of the default model
    ps::VlmInputs llava_;  // two prompts about an image each for the LLaVA demo
    std::string dual_inputs_, llava_inputs_, demo_;

    nlohmann::json reference_scores(const std::string& model, const std::string& inputs, const std::string& score) {
        const QString out = tmp_.filePath(QString::fromStdString("scores-" + score + ".json"));
        const auto run = ps_test::run_python("width_reference.py", {"scores", QString::fromStdString(model),
                                                                    QString::fromStdString(inputs), QString::fromStdString(score), out});
        if (run.exit_code != 0) qWarning("%s", run.err.constData());
        return run.exit_code == 0 ? ps::read_json_file(out.toStdString()) : nlohmann::json();
    }

    at::Tensor transformers_logits(const std::string& dir, const std::string& inputs) {
        const QString out = tmp_.filePath("hf-logits.safetensors");
        const auto run = ps_test::run_python("width_reference.py", {"run", QString::fromStdString(dir), QString::fromStdString(inputs), out});
        if (run.exit_code != 0) qWarning("%s", run.err.constData());
        return run.exit_code == 0 ? ps::load_safetensors(out.toStdString()).at(0).second.clone() : at::Tensor();
    }

    // Prunes a fresh load of `model_dir`, writes it, and checks the in-memory model, our reload and
    // transformers' reload give the same outputs.
    ps::WidthResult prune_write_reload(const std::string& model_dir, const ps::Plan& plan, const ps::VlmInputs& in,
                                       const std::string& inputs_file, const std::string& out_dir, bool llava) {
        auto m = ps::Vlm::load(model_dir);
        const ps::WidthResult r = ps::prune_width(*m, plan, {in}, {});
        ps::write_width_pruned_checkpoint(*m, plan.to_json(), r, out_dir);
        auto reloaded = ps::Vlm::load(out_dir);
        at::NoGradGuard no_grad;
        const at::Tensor mine = llava ? m->forward(in).logits : m->forward(in).logits_per_image;
        const at::Tensor again = llava ? reloaded->forward(in).logits : reloaded->forward(in).logits_per_image;
        const double d_reload = max_diff(mine, again);
        qInfo("in-memory vs reloaded: max abs diff %.3g", d_reload);
        if (d_reload > 1e-5) QTest::qFail("reloaded model differs", __FILE__, __LINE__);
        const at::Tensor theirs = transformers_logits(out_dir, inputs_file);
        if (!theirs.defined()) {
            QTest::qFail("transformers could not load the pruned folder", __FILE__, __LINE__);
            return r;
        }
        const double d_hf = max_diff(mine, theirs);
        qInfo("in-memory vs transformers: max abs diff %.3g", d_hf);
        if (d_hf > 1e-4) QTest::qFail("transformers' outputs differ", __FILE__, __LINE__);
        return r;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 8;
        c.batch_size = 8;
        const auto batches = ps::calibration_batches(*m, c, 0);
        QCOMPARE(batches.size(), size_t(1));
        dual_ = batches[0];
        if (!dual_.attention_mask.defined()) dual_.attention_mask = at::ones_like(dual_.input_ids);
        dual_inputs_ = tmp_.filePath("dual-inputs.safetensors").toStdString();
        save_inputs(dual_, dual_inputs_);

        demo_ = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo_, 5);
        llava_ = ps_test::demo_llava_prompts();
        llava_inputs_ = tmp_.filePath("llava-inputs.safetensors").toStdString();
        save_inputs(llava_, llava_inputs_);
    }

    void default_model_taylor_scores_match_autograd_and_reload_in_transformers() {
        const ps::Plan plan = width_plan(0.3, "taylor");
        const ps::WidthResult r = prune_write_reload(PS_DEFAULT_MODEL, plan, dual_, dual_inputs_, tmp_.filePath("dual-taylor").toStdString(), false);
        QCOMPARE(r.towers.size(), size_t(2));
        const nlohmann::json ref = reference_scores(PS_DEFAULT_MODEL, dual_inputs_, "taylor");
        QVERIFY(ref.is_object());
        for (const ps::WidthTower& t : r.towers) {
            QVERIFY2(!t.note.empty(), "heads of a ViT / BERT tower are kept, with the reason");
            QCOMPARE(t.heads_after, t.heads_before);
            QVERIFY(t.group_scores.front().empty());
            const int64_t removed = static_cast<int64_t>(0.3 * static_cast<double>(t.channels_before));
            QCOMPARE(t.channels_after, t.channels_before - removed);
            const double gap = relative_gap(t.channel_scores, ref[t.tower]["channels"]);
            qInfo("%s: %lld -> %lld channels, Taylor scores vs transformers autograd: relative gap %.3g", t.tower.c_str(),
                  static_cast<long long>(t.channels_before), static_cast<long long>(t.channels_after), gap);
            QVERIFY2(gap < 1e-4, qPrintable(QString::number(gap)));
            expect_lowest(t.removed_channels, ref[t.tower]["channels"], static_cast<size_t>(removed), 1e-4);
        }
        const nlohmann::json config = ps::read_json_file(tmp_.filePath("dual-taylor/config.json").toStdString());
        QCOMPARE(config["vision_config"]["intermediate_size"].get<int64_t>(), int64_t(512 - 153));
        QCOMPARE(config["text_config"]["intermediate_size"].get<int64_t>(), int64_t(1536 - 460));
        QCOMPARE(config["text_config"]["num_attention_heads"].get<int64_t>(), int64_t(12));
    }

    void default_model_activation_scores_match_hooks() {
        ps::Plan plan = width_plan(0.5, "activation");
        plan.allocation.kind = "modality";
        plan.allocation.modality = {{"vision", 0.5}, {"language", 0.0}};
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::WidthResult r = ps::prune_width(*m, plan, {dual_}, {});
        QCOMPARE(r.towers.size(), size_t(1));
        const ps::WidthTower& t = r.towers[0];
        QCOMPARE(t.tower, std::string("vision"));
        QCOMPARE(t.channels_after, int64_t(256));
        const nlohmann::json ref = reference_scores(PS_DEFAULT_MODEL, dual_inputs_, "activation");
        QVERIFY(ref.is_object());
        const double gap = relative_gap(t.channel_scores, ref["vision"]["channels"]);
        qInfo("vision activation scores vs transformers hooks: relative gap %.3g", gap);
        QVERIFY2(gap < 1e-5, qPrintable(QString::number(gap)));
        expect_lowest(t.removed_channels, ref["vision"]["channels"], 256, 1e-5);
        // only the vision tower's MLP changed, and only its rows / columns
        QCOMPARE(m->weights().get("vision_model.encoder.layer.0.intermediate.dense.weight").size(0), int64_t(256));
        QCOMPARE(m->weights().get("vision_model.encoder.layer.0.intermediate.dense.bias").size(0), int64_t(256));
        QCOMPARE(m->weights().get("vision_model.encoder.layer.0.output.dense.weight").size(1), int64_t(256));
        QVERIFY(!m->weights().overridden("text_model.encoder.layer.0.intermediate.dense.weight"));
        const at::Tensor before = ps::Vlm::load(PS_DEFAULT_MODEL)->weights().get("vision_model.encoder.layer.2.output.dense.weight");
        std::vector<int64_t> keep;
        for (int64_t c = 0; c < 512; ++c)
            if (!std::binary_search(t.removed_channels[2].begin(), t.removed_channels[2].end(), c)) keep.push_back(c);
        QVERIFY(at::equal(m->weights().get("vision_model.encoder.layer.2.output.dense.weight"),
                          before.index_select(1, at::tensor(keep, at::kLong))));
    }

    void llava_gqa_heads_and_channels_reload_in_transformers() {
        const ps::Plan plan = width_plan(0.5, "taylor");
        const std::string out = tmp_.filePath("llava-width").toStdString();
        const ps::WidthResult r = prune_write_reload(demo_, plan, llava_, llava_inputs_, out, true);
        QCOMPARE(r.towers.size(), size_t(2));
        const ps::WidthTower& v = r.towers[0];
        const ps::WidthTower& l = r.towers[1];
        QCOMPARE(v.channels_after, int64_t(128));
        QCOMPARE(v.removed_channels.size(), size_t(4));  // the block past vision_feature_layer too
        QCOMPARE(l.head_dim, int64_t(32));
        QCOMPARE(l.kv_heads_before, int64_t(2));
        QCOMPARE(l.kv_heads_after, int64_t(1));
        QCOMPARE(l.heads_before, int64_t(4));
        QCOMPARE(l.heads_after, int64_t(2));  // a key/value group goes with both its query heads
        QCOMPARE(l.channels_after, int64_t(172));
        const nlohmann::json tc = ps::read_json_file(out + "/config.json")["text_config"];
        QCOMPARE(tc["num_attention_heads"].get<int64_t>(), int64_t(2));
        QCOMPARE(tc["num_key_value_heads"].get<int64_t>(), int64_t(1));
        QCOMPARE(tc["head_dim"].get<int64_t>(), int64_t(32));
        QCOMPARE(tc["intermediate_size"].get<int64_t>(), int64_t(172));
        QCOMPARE(ps::read_json_file(out + "/config.json")["vision_config"]["intermediate_size"].get<int64_t>(), int64_t(128));

        const nlohmann::json ref = reference_scores(demo_, llava_inputs_, "taylor");
        QVERIFY(ref.is_object());
        const double groups = relative_gap(l.group_scores, ref["language"]["groups"]);
        const double channels = relative_gap(l.channel_scores, ref["language"]["channels"]);
        qInfo("LLaVA language Taylor scores vs transformers autograd: groups %.3g, channels %.3g", groups, channels);
        QVERIFY2(groups < 1e-4 && channels < 1e-4, qPrintable(QString("%1 %2").arg(groups).arg(channels)));
        expect_lowest(l.removed_groups, ref["language"]["groups"], 1, 1e-4);
        expect_lowest(l.removed_channels, ref["language"]["channels"], 172, 1e-4);
    }

    void llava_activation_scores_match_hooks() {
        ps::Plan plan = width_plan(0.5, "activation");
        plan.allocation.kind = "modality";
        plan.allocation.modality = {{"vision", 0.0}, {"language", 0.5}};
        auto m = ps::Vlm::load(demo_);
        const ps::WidthResult r = ps::prune_width(*m, plan, {llava_}, {});
        const nlohmann::json ref = reference_scores(demo_, llava_inputs_, "activation");
        QVERIFY(ref.is_object());
        const double groups = relative_gap(r.towers[0].group_scores, ref["language"]["groups"]);
        const double channels = relative_gap(r.towers[0].channel_scores, ref["language"]["channels"]);
        qInfo("LLaVA language activation scores vs transformers hooks: groups %.3g, channels %.3g", groups, channels);
        QVERIFY2(groups < 1e-5 && channels < 1e-5, qPrintable(QString("%1 %2").arg(groups).arg(channels)));
    }

    void bad_plans_and_cancel_change_nothing() {
        auto m = ps::Vlm::load(PS_DEFAULT_MODEL);
        auto unchanged = [&] { return !m->weights().overridden("text_model.encoder.layer.0.intermediate.dense.weight"); };
        ps::Plan p = width_plan(0.3, "taylor");
        p.method = "wanda";
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {dual_}, {}); }).contains("is not width"));
        p = width_plan(0.3, "taylor");
        p.targets = {".*layer\\.0\\..*"};
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {dual_}, {}); }).contains("plan targets"));
        p = width_plan(0.3, "taylor");
        p.allocation.kind = "ecoflap";
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {dual_}, {}); }).contains("allocation.kind"));
        p = width_plan(0.0005, "taylor");  // 0.77 of a text channel
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {dual_}, {}); }).contains("too small"));
        p = width_plan(0.3, "taylor");
        p.structured.heads = p.structured.channels = false;
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {dual_}, {}); }).contains("neither heads nor channels"));
        p = width_plan(0.3, "taylor");
        QVERIFY(ps_test::error_of([&] { ps::prune_width(*m, p, {}, {}); }).contains("no calibration"));
        QVERIFY(unchanged());

        ps::JobControl job;
        job.on_progress = [&](const ps::Progress&) { job.cancel(); };
        bool cancelled = false;
        try {
            ps::prune_width(*m, p, {dual_, dual_}, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(unchanged());
        QVERIFY(!m->weights().overridden("text_model.encoder.layer.0.intermediate.dense.weight"));
        QVERIFY(!m->weights().get("vision_model.encoder.layer.0.output.dense.weight").requires_grad());

        QVERIFY(ps_test::error_of([] { ps::Plan::from_json({{"method", "width"}, {"pattern", "2:4"}}, "p.json"); })
                    .contains("p.json: pattern:"));
        QVERIFY(ps_test::error_of([] { ps::Plan::from_json({{"method", "wanda"}, {"pattern", "structured"}}, "p.json"); })
                    .contains("p.json: pattern:"));
        QVERIFY(ps_test::error_of([] { ps::Plan::from_json({{"method", "width"}, {"structured", {{"score", "l2"}}}}, "p.json"); })
                    .contains("p.json: structured.score:"));
    }
};

QTEST_GUILESS_MAIN(TestWidth)
#include "test_width.moc"
