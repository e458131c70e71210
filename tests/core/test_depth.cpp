// Depth pruning on the default model: one finite positive Block Influence per block, equal to
// 1 − cos summed from forward()'s captured hidden states; the checkpoint without two text blocks
// reloads, runs as the original with those blocks skipped and as transformers runs it; LLaVA's
// language blocks renumber the same way and its vision blocks are refused; bad requests write nothing.
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/io/tensor_view.h"
#include "core/model/demo_checkpoint.h"
#include "core/prune/calibration.h"
#include "core/prune/depth.h"
#include "tests/core/demo_inputs.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestDepth : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::unique_ptr<ps::Vlm> model_;
    std::vector<ps::VlmInputs> calib_;
    std::vector<ps::BlockInfluence> bi_;

    // The in-memory reference: `m` run with blocks `skip` of tower `tower` left out.
    static ps::VlmOutputs forward_skipping(const ps::Vlm& m, const ps::VlmInputs& in, int tower, const std::vector<int>& skip) {
        at::NoGradGuard no_grad;
        const std::set<int> s(skip.begin(), skip.end());
        std::vector<ps::StageState> done;
        for (int t = 0; t < static_cast<int>(m.towers().size()); ++t) {
            ps::StageState st = m.embed(t, in, done);
            for (int i = 0; i < m.towers()[t].num_blocks; ++i)
                if (t != tower || !s.count(i)) m.block(t, i, st);
            m.finish(t, st);
            done.push_back(std::move(st));
        }
        return m.head(in, done);
    }


    template <typename F>
    static void expect_error(F&& f, const QString& needle) {
        try {
            f();
            QFAIL(qPrintable("no error, expected one containing " + needle));
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).contains(needle), e.what());
        }
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        model_ = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 32;
        c.batch_size = 16;
        calib_ = ps::calibration_batches(*model_, c, 0);
        QCOMPARE(calib_.size(), size_t(2));
        const auto t0 = std::chrono::steady_clock::now();
        bi_ = ps::block_influence(*model_, calib_, {});
        qInfo("block influence over 32 samples: %.3f s",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }

    void one_finite_positive_score_per_block() {
        QCOMPARE(model_->towers().size(), size_t(2));
        QCOMPARE(model_->towers()[0].num_blocks, 4);
        QCOMPARE(model_->towers()[1].num_blocks, 6);
        QCOMPARE(bi_.size(), size_t(10));
        for (size_t k = 0; k < bi_.size(); ++k) {
            const ps::BlockInfluence& b = bi_[k];
            QCOMPARE(b.tower, k < 4 ? 0 : 1);
            QCOMPARE(b.block, static_cast<int>(k < 4 ? k : k - 4));
            QVERIFY2(std::isfinite(b.score) && b.score > 0, qPrintable(QString::number(b.score)));
            qInfo("BI %-6s block %d: %.6f", model_->towers()[b.tower].name.c_str(), b.block, b.score);
        }
    }

    // 1 − cos from forward()'s captures (index 0: embedding output, i + 1: block i's output), the
    // text tower's padding left out; the calibration captions are padded, so the mask matters.
    void scores_equal_captured_hidden_states() {
        QVERIFY((calib_[0].attention_mask == 0).any().item<bool>());
        ps::CaptureOptions capture;
        capture.hidden_states = true;
        std::vector<ps::VlmOutputs> outs;
        for (const auto& b : calib_) outs.push_back(model_->forward(b, capture));
        for (const auto& [t, i] : std::vector<std::pair<int, int>>{{0, 1}, {0, 3}, {1, 0}, {1, 4}}) {
            double want = 0, unmasked = 0;
            for (size_t b = 0; b < calib_.size(); ++b) {
                const at::Tensor in = outs[b].hidden_states[t][i].to(at::kDouble);
                const at::Tensor out = outs[b].hidden_states[t][i + 1].to(at::kDouble);
                const at::Tensor one_minus_cos = 1.0 - at::cosine_similarity(in, out, -1, 1e-300);
                unmasked += one_minus_cos.sum().item<double>();
                want += t == 1 ? (one_minus_cos * calib_[b].attention_mask.to(at::kDouble)).sum().item<double>()
                               : one_minus_cos.sum().item<double>();
            }
            const double got = bi_[t * 4 + i].score;
            qInfo("tower %d block %d: BI %.9f, from captures %.9f (all tokens %.6f)", t, i, got, want, unmasked);
            QVERIFY2(std::abs(got - want) <= 1e-9 * std::max(1.0, want), qPrintable(QString("%1 vs %2").arg(got).arg(want)));
            if (t == 1) QVERIFY(unmasked > want);
        }
    }

    void least_influential_picks_the_lowest() {
        const std::vector<int> drop = ps::least_influential(bi_, 1, 2);
        QCOMPARE(drop.size(), size_t(2));
        QVERIFY(drop[0] < drop[1]);
        for (const ps::BlockInfluence& b : bi_)
            if (b.tower == 1 && b.block != drop[0] && b.block != drop[1])
                QVERIFY(b.score >= std::max(bi_[4 + drop[0]].score, bi_[4 + drop[1]].score));
        const std::vector<ps::BlockInfluence> ties{{0, 0, 1.0}, {0, 1, 1.0}, {0, 2, 0.5}, {0, 3, 1.0}, {1, 0, 0.1}};
        QCOMPARE(ps::least_influential(ties, 0, 2), (std::vector<int>{0, 2}));
        QCOMPARE(ps::least_influential(ties, 0, 0), std::vector<int>{});
    }

    void dropped_text_blocks_reload_and_match() {
        const std::vector<int> drop = ps::least_influential(bi_, 1, 2);
        const std::string dir = tmp_.filePath("text4").toStdString();
        const auto t0 = std::chrono::steady_clock::now();
        ps::write_depth_pruned_checkpoint(*model_, {{1, drop}}, dir);
        qInfo("dropped text blocks %d and %d; wrote the checkpoint in %.3f s", drop[0], drop[1],
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

        const nlohmann::json config = ps::read_json_file(dir + "/config.json");
        QCOMPARE(config["text_config"]["num_hidden_layers"].get<int>(), 4);
        QCOMPARE(config["vision_config"]["num_hidden_layers"].get<int>(), 4);
        const nlohmann::json depth = ps::read_json_file(dir + "/depth.json");
        QCOMPARE(depth.size(), size_t(1));
        QCOMPARE(depth[0]["dropped"].get<std::vector<int>>(), drop);
        QCOMPARE(depth[0]["prefix"].get<std::string>(), std::string("text_model.encoder.layer."));
        for (const char* f : {"vocab.txt", "preprocessor_config.json", "tokenizer_config.json"})
            QVERIFY2(fs::exists(fs::path(PS_DEFAULT_MODEL) / f) == fs::exists(dir + "/" + f), f);
        QVERIFY(fs::exists(dir + "/vocab.txt"));

        auto reloaded = ps::Vlm::load(dir);
        QCOMPARE(reloaded->towers()[1].num_blocks, 4);
        int per_block = 0;
        for (const std::string& n : model_->weights().checkpoint().names()) per_block += n.rfind("text_model.encoder.layer.0.", 0) == 0;
        QVERIFY(per_block > 0);
        QCOMPARE(reloaded->map().num_tensors, model_->map().num_tensors - 2 * per_block);
        int max_block = -1;
        for (const ps::LinearLayer& l : reloaded->map().linears)
            if (l.modality == ps::Modality::Language) max_block = std::max(max_block, l.block);
        QCOMPARE(max_block, 3);
        // block 5 of the original is block 3 now, tensor for tensor
        const std::string kept = "text_model.encoder.layer.";
        QVERIFY(at::equal(reloaded->weights().get(kept + "3.output.dense.weight"), model_->weights().get(kept + "5.output.dense.weight")));
        for (const auto& b : calib_) {
            const at::Tensor got = reloaded->forward(b).logits_per_image;
            const at::Tensor want = forward_skipping(*model_, b, 1, drop).logits_per_image;
            const double d = ps_test::max_abs_diff(got, want);
            qInfo("logits_per_image vs the original with blocks skipped: max abs diff %.3g", d);
            QVERIFY2(d <= 1e-5, qPrintable(QString::number(d)));
            QVERIFY(ps_test::max_abs_diff(got, model_->forward(b).logits_per_image) > 1e-3);  // the blocks did something
        }

        // transformers loads the folder (no missing or left-over weights) and gives the same logits
        const std::string inputs = tmp_.filePath("inputs.safetensors").toStdString();
        const QString ref = tmp_.filePath("reference.safetensors");
        ps::save_safetensors(inputs, {{"input_ids", calib_[0].input_ids},
                                      {"attention_mask", calib_[0].attention_mask},
                                      {"pixel_values", calib_[0].pixel_values}});
        const auto run = ps_test::run_python("depth_reference.py", {QString::fromStdString(dir), QString::fromStdString(inputs), ref});
        QVERIFY2(run.exit_code == 0, run.err.constData());
        const nlohmann::json layers = nlohmann::json::parse(run.out.trimmed().split('\n').last().toStdString());
        QCOMPARE(layers["text_layers"].get<int>(), 4);
        QCOMPARE(layers["vision_layers"].get<int>(), 4);
        const at::Tensor theirs = ps::load_safetensors(ref.toStdString()).at(0).second.clone();
        const double d = ps_test::max_abs_diff(reloaded->forward(calib_[0]).logits_per_image, theirs);
        qInfo("logits_per_image vs transformers: max abs diff %.3g", d);
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
    }

    void llava_language_blocks_renumber_and_vision_is_refused() {
        const std::string demo = tmp_.filePath("demo").toStdString();
        ps::write_demo_checkpoint(demo, 3);
        auto m = ps::Vlm::load(demo);
        QCOMPARE(m->towers()[1].num_blocks, 6);
        const ps::VlmInputs in = ps_test::demo_llava_prompts();
        const auto bi = ps::block_influence(*m, {in}, {});
        QCOMPARE(bi.size(), static_cast<size_t>(m->towers()[0].num_blocks + 6));
        for (const auto& b : bi) QVERIFY(std::isfinite(b.score) && b.score > 0);

        const std::vector<int> drop{1, 4};
        const std::string dir = tmp_.filePath("llava4").toStdString();
        ps::write_depth_pruned_checkpoint(*m, {{1, drop}}, dir);
        QCOMPARE(ps::read_json_file(dir + "/config.json")["text_config"]["num_hidden_layers"].get<int>(), 4);
        auto reloaded = ps::Vlm::load(dir);
        QCOMPARE(reloaded->towers()[1].num_blocks, 4);
        const double d = ps_test::max_abs_diff(reloaded->forward(in).logits, forward_skipping(*m, in, 1, drop).logits);
        qInfo("LLaVA demo, language blocks 1 and 4 dropped: logits max abs diff %.3g", d);
        QVERIFY2(d <= 1e-5, qPrintable(QString::number(d)));

        const std::string vision = tmp_.filePath("llava-vision").toStdString();
        expect_error([&] { ps::write_depth_pruned_checkpoint(*m, {{0, {0}}}, vision); }, "vision_feature_layer");
        QVERIFY(!fs::exists(vision));
    }

    void bad_requests_write_nothing() {
        const std::string dir = tmp_.filePath("bad").toStdString();
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{1, {0, 1, 2, 3, 4, 5}}}, dir); }, "keep at least one");
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{2, {0}}}, dir); }, "tower 2");
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{-1, {0}}}, dir); }, "tower -1");
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{1, {6}}}, dir); }, "text block 6");
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{0, {1, 1}}}, dir); }, "listed twice");
        QVERIFY(!fs::exists(dir));
        fs::create_directories(dir);
        expect_error([&] { ps::write_depth_pruned_checkpoint(*model_, {{1, {0}}}, dir); }, "already exists");
        QVERIFY(fs::is_empty(dir));
        expect_error([&] { ps::least_influential(bi_, 1, 6); }, "at least one must stay");
        expect_error([&] { ps::least_influential(bi_, 1, -1); }, "cannot drop");
        expect_error([&] { ps::least_influential(bi_, 7, 1); }, "no block influence");
        expect_error([&] { ps::block_influence(*model_, {}, {}); }, "no calibration");
        for (const auto& e : fs::directory_iterator(tmp_.path().toStdString()))
            QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().c_str());
    }
};

QTEST_APPLESS_MAIN(TestDepth)
#include "test_depth.moc"
