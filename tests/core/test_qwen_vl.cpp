// core/model/qwen_vl.cpp against transformers on tiny random Qwen2-VL (module layout, untied head),
// Qwen2.5-VL (Hub layout, tied head) and Qwen3-VL (untied head; q/k norms, interleaved multimodal
// rotary, learned positions interpolated to each grid, DeepStack into two of three decoder layers)
// made by tests/python/qwen_vl_reference.py: the image
// processor's pixel values and grids for four non-square images (one scaled up to min_pixels, one
// down to max_pixels), the chat prompts' ids with and without an image, every hidden state of both
// towers and the logits for a prompt about two images, greedy answers of a left-padded batch and of
// the two-image prompt, and the streamed model equal to the resident one. A Wanda 2:4 language-only
// prune and a width prune of the decoder's MLP export folders that transformers reloads with the
// logits of our pruned model. Run-time token pruning after vision block 0 at keep 0.5 keeps the
// merged tokens and gives the logits of tests/python/qwen_vl_token_reference.py, which drops the
// same patches by hand between transformers' own blocks and the image pads from the prompt; a
// left-padded batch of two differently sized images, each losing its own number of pads, answers
// as each prompt alone; the heatmap's grid is each image's merged grid with the reference's scores.
// Text-guided pruning in the decoder (FastV after layer 0, keep 0.5) gives the logits of the same
// script's hand reference, which runs transformers' later decoder layers on the tokens left.
// Generation with FastV drops those tokens in the prompt's pass and equals greedy steps of whole
// forwards that drop the same tokens. prunestudio-cli eval --plan answers a question file with
// either pruning as the API does (likelihoods batched as alone).
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <map>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/data/image_processor.h"
#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"
#include "core/data/vqa_file.h"
#include "core/eval/vqa_eval.h"
#include "core/token/image_tokens.h"
#include "core/token/token_pruning.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"

namespace {

// What tests/python/qwen_vl_token_reference.py wrote for `mode` (vision, text).
std::map<std::string, at::Tensor> tokens_reference(const QString& dir, const char* mode) {
    std::map<std::string, at::Tensor> out;
    for (auto& [name, t] : ps::load_safetensors((dir + "/tokens-" + mode + ".safetensors").toStdString())) out[name] = t;
    return out;
}

}  // namespace

class TestQwenVl : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("variant");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("Qwen2-VL, module layout, untied head") << "qwen2_vl" << QStringList{"--module-layout"};
        QTest::newRow("Qwen2.5-VL, Hub layout, tied head") << "qwen2_5_vl" << QStringList{"--tie"};
        QTest::newRow("Qwen3-VL, untied head") << "qwen3_vl" << QStringList{};
    }

    void parity() {
        QFETCH(QString, variant);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(variant);
        const nlohmann::json questions = ps_test::reference_questions("qwen_vl_reference.py", QStringList{dir, variant} + args);
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);

        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        // The image processor: pixel values and grids.
        double worst_pixel = 0;
        for (const std::string name : {"a", "b", "c", "d"}) {
            const ps::ImageInputs img = processor.images({ps::load_image((dir + "/" + QString::fromStdString(name) + ".png").toStdString())});
            QCOMPARE(ps_test::ids_of(img.image_grid_thw), ps_test::ids_of(ref[name + ".image_grid_thw"]));
            QCOMPARE(img.pixel_values.sizes().vec(), ref[name + ".pixel_values"].sizes().vec());
            worst_pixel = std::max(worst_pixel, ps_test::diff(img.pixel_values, ref[name + ".pixel_values"]).first);
            const at::Tensor grid = ref[name + ".image_grid_thw"][0];
            QCOMPARE(img.tokens.front(), grid.prod().item<int64_t>() / 4);
        }
        QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
        // The chat prompts.
        for (const std::string name : {"a", "b"}) {
            const cv::Mat image = ps::load_image((dir + "/" + QString::fromStdString(name) + ".png").toStdString());
            QCOMPARE(ps_test::ids_of(processor.chat(image, questions.at(name).get<std::string>()).input_ids), ps_test::ids_of(ref[name + ".input_ids"]));
        }
        QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ps_test::ids_of(ref["text.input_ids"]));

        // Every hidden state and the logits for a prompt about two images.
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        ps::CaptureOptions cap;
        cap.hidden_states = true;
        const ps::VlmOutputs out = model->forward(in, cap);
        PS_COMPARE_TENSOR(out.logits, ref["logits"], std::string("logits"), false, 1e-4, 0);
        const char* towers[] = {"vision", "language"};
        QString report = QString("pixels %1, logits %2").arg(worst_pixel).arg(ps_test::diff(out.logits, ref["logits"]).first);
        for (int t = 0; t < 2; ++t) {
            QCOMPARE(out.hidden_states[t].size(), size_t(model->towers()[t].num_blocks + 1));
            double worst = 0;
            for (size_t i = 0; i < out.hidden_states[t].size(); ++i) {
                const std::string key = std::string(towers[t]) + ".hidden." + std::to_string(i);
                const at::Tensor got = t == 0 ? out.hidden_states[t][i].squeeze(0) : out.hidden_states[t][i];
                PS_COMPARE_TENSOR(got, ref[key], key, false, 1e-4, 0);
                worst = std::max(worst, ps_test::diff(got, ref[key]).first);
            }
            report += QString(", %1 hidden x%2 %3").arg(towers[t]).arg(out.hidden_states[t].size()).arg(worst);
        }

        // Greedy answers of a left-padded batch of one-image prompts and of the two-image prompt; streamed.
        ps_test::check_generation_and_streaming(*model, ref, out.logits);
        ps_test::check_tokens_before_the_language_model(ref);
        if (QTest::currentTestFailed()) return;
        qInfo("%s: max abs diff %s; greedy answers identical", QTest::currentDataTag(), qPrintable(report));
    }

    void token_pruning_before_the_merger_data() { parity_data(); }

    void token_pruning_before_the_merger() {
        QFETCH(QString, variant);
        QFETCH(QStringList, args);
        const QString dir = ps_test::reference_folder(tmp_, "qwen_vl_reference.py", variant, QStringList{variant} + args);
        const auto py = ps_test::run_python("qwen_vl_token_reference.py", {dir, "vision", "0", "0.5"});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const ps_test::Reference ref = ps_test::read_reference(dir);
        std::map<std::string, at::Tensor> want = tokens_reference(dir, "vision");
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::VlmInputs in = ps_test::reference_inputs(ref);

        // The heatmap at block 0: each image's merged grid, the reference's scores.
        const auto grids = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Received);
        QCOMPARE(grids.size(), size_t{2});
        std::vector<float> scores;
        for (int64_t i = 0; i < 2; ++i) {
            QCOMPARE(grids[i].rows, static_cast<int>(ref["image_grid_thw"][i][1].item<int64_t>() / 2));
            QCOMPARE(grids[i].cols, static_cast<int>(ref["image_grid_thw"][i][2].item<int64_t>() / 2));
            scores.insert(scores.end(), grids[i].scores.begin(), grids[i].scores.end());
        }
        PS_COMPARE_TENSOR(at::tensor(scores), want["scores"], std::string("scores"), false, 1e-5, 0);
        // What the model saw, from its patches: the processor's patches again.
        const int64_t rows = ref["image_grid_thw"][0][1].item<int64_t>(), cols = ref["image_grid_thw"][0][2].item<int64_t>();
        const ps::ImageProcessorConfig cfg = ps::Processor(*model).image_config();
        std::array<int64_t, 3> grid{};
        const at::Tensor first = in.pixel_values.narrow(0, 0, rows * cols);
        QVERIFY(ps::image_patches(ps::patches_image(first, rows, cols, cfg), cfg, grid).equal(first));
        QCOMPARE(ps::model_view(in, 1, cfg).rows, static_cast<int>(ref["image_grid_thw"][1][1].item<int64_t>() * cfg.patch_size));

        // Keep half of each image's merged tokens after block 0: the same tokens, the same logits.
        ps::TokenPruning pruning;
        pruning.metric = ps::TokenMetric::Received;
        pruning.vision = {{0, 0.5}};
        ps::install_token_pruning(*model, pruning);
        QCOMPARE(ps_test::ids_of(model->run_tower(0, in).positions), ps_test::ids_of(want["kept"]));
        const at::Tensor logits = model->forward(in).logits;
        PS_COMPARE_TENSOR(logits, want["logits"], std::string("pruned logits"), false, 1e-4, 0);
        qInfo("%s: %s; logits max abs diff %.3g", QTest::currentDataTag(), py.out.trimmed().constData(),
              ps_test::diff(logits, want["logits"]).first);

        // A left-padded batch of two images of different sizes answers as each prompt alone.
        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        const ps::VlmInputs batch = ps_test::reference_inputs(ref, "generate.");
        const at::Tensor batched = model->forward(batch).logits;
        const auto answers = causal->generate_batch(batch, 4, std::nullopt);
        int64_t first_patch = 0;
        for (int64_t b = 0; b < 2; ++b) {
            ps::VlmInputs one;
            one.input_ids = batch.input_ids[b].masked_select(batch.attention_mask[b] == 1).unsqueeze(0);
            const int64_t patches = batch.image_grid_thw[b].prod().item<int64_t>();
            one.pixel_values = batch.pixel_values.narrow(0, first_patch, patches);
            one.image_grid_thw = batch.image_grid_thw.narrow(0, b, 1);
            first_patch += patches;
            const at::Tensor alone = model->forward(one).logits;
            QVERIFY(alone.size(1) < one.input_ids.size(1));  // its dropped pads left the prompt
            PS_COMPARE_TENSOR(batched[b][-1], alone[0][-1], "row " + std::to_string(b), false, 1e-4, 0);
            QCOMPARE(answers[static_cast<size_t>(b)], causal->generate(one, 4, std::nullopt));
        }

        // Without a [CLS] token the cls metric is refused, naming the field.
        pruning.metric = ps::TokenMetric::Cls;
        try {
            ps::install_token_pruning(*model, pruning);
            QFAIL("the cls metric was accepted");
        } catch (const ps::Error& e) {
            QVERIFY2(std::string(e.what()).find("tokens.metric") != std::string::npos, e.what());
        }
    }

    void text_guided_token_pruning_in_the_decoder_data() { parity_data(); }

    // FastV in the decoder: after layer 0 the image tokens the prompt's last token attends to least
    // leave (keep 0.5), the other tokens keep their multimodal positions.
    void text_guided_token_pruning_in_the_decoder() {
        QFETCH(QString, variant);
        QFETCH(QStringList, args);
        const QString dir = ps_test::reference_folder(tmp_, "qwen_vl_reference.py", variant, QStringList{variant} + args);
        const auto py = ps_test::run_python("qwen_vl_token_reference.py", {dir, "text", "0", "0.5"});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const ps_test::Reference ref = ps_test::read_reference(dir);
        std::map<std::string, at::Tensor> want = tokens_reference(dir, "text");
        auto model = ps::Vlm::load(dir.toStdString());
        ps::TokenPruning pruning;
        pruning.metric = ps::TokenMetric::Text;
        pruning.language = {{0, 0.5}};
        ps::install_token_pruning(*model, pruning);
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        const at::Tensor logits = model->forward(in).logits;
        QCOMPARE(logits.size(1), want["kept"].size(0));
        PS_COMPARE_TENSOR(logits, want["logits"], std::string("pruned logits"), false, 1e-4, 0);
        qInfo("%s: %s; logits max abs diff %.3g", QTest::currentDataTag(), py.out.trimmed().constData(),
              ps_test::diff(logits, want["logits"]).first);

        // Generation drops them in the prompt's pass and keeps every new token: as greedy steps of
        // whole forwards that drop exactly the reference's tokens after layer 0.
        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        const std::vector<int64_t> answer = causal->generate(in, 4, std::nullopt);
        auto stepped = ps::Vlm::load(dir.toStdString());
        const int64_t prompt = in.input_ids.size(1);
        ps::TokenHook fixed;
        fixed.after = {{1, 0}};
        fixed.apply = [&](int, int, ps::StageState& s, const at::Tensor&) {
            ps::keep_tokens(s, at::cat({want["kept"], at::arange(prompt, s.hidden.size(1), at::kLong)}).unsqueeze(0));
        };
        stepped->set_token_hook(fixed);
        ps::VlmInputs grown = in;
        std::vector<int64_t> expected;
        for (int step = 0; step < 4; ++step) {
            expected.push_back(stepped->forward(grown).logits[0][-1].argmax().item<int64_t>());
            grown.input_ids = at::cat({grown.input_ids, at::tensor({expected.back()}, at::kLong).unsqueeze(0)}, 1);
        }
        QCOMPARE(answer, expected);
    }

    // prunestudio-cli eval --plan answers a question file with the Plan's token pruning (in the
    // vision tower, then FastV in the decoder) as evaluate_vqa on the pruned model does.
    void generative_eval_with_token_pruning() {
        const QString dir = ps_test::reference_folder(tmp_, "qwen_vl_reference.py", "qwen2_5_vl", {"qwen2_5_vl", "--tie"});
        const QString questions = dir + "/questions.jsonl", plan = dir + "/tokens-plan.json", answers = dir + "/answers.jsonl";
        ps_test::write_bytes(questions, R"({"id": "q1", "image": "a.png", "question": "What is shown?", "answers": "a cat", "kind": "open"}
{"id": "q2", "image": "b.png", "question": "Which colour?", "answers": "red", "kind": "open"}
)");
        ps_test::write_bytes(plan, (R"({"model": ")" + dir + R"(", "tokens": {"metric": "received", "vision": {"0": 0.5}}})").toUtf8());
        const auto cli = ps_test::run_cli({"eval", dir, "--data", questions, "--plan", plan, "--answers", answers, "--batch", "2",
                                           "--max-new-tokens", "6"});
        QVERIFY2(cli.exit_code == 0, cli.err.constData());

        auto model = ps::Vlm::load(dir.toStdString());
        const ps::VqaSet set = ps::load_vqa_file(questions.toStdString());
        ps::VqaEvalOptions opt;
        opt.batch_size = 2;
        opt.max_new_tokens = 6;
        const ps::VqaEvalResult dense = ps::evaluate_vqa(*model, set, opt, ps::JobControl{});
        ps::TokenPruning pruning;
        pruning.metric = ps::TokenMetric::Received;
        pruning.vision = {{0, 0.5}};
        ps::install_token_pruning(*model, pruning);
        const ps::VqaEvalResult pruned = ps::evaluate_vqa(*model, set, opt, ps::JobControl{});
        std::vector<std::string> written;
        for (const QByteArray& line : ps_test::read_bytes(answers).split('\n'))
            if (!line.isEmpty())
                written.push_back(nlohmann::json::parse(line.toStdString()).at("text").get<std::string>());
        QCOMPARE(written.size(), size_t{2});
        // One at a time: each row's own number of dropped pads, the same likelihoods and answers.
        opt.batch_size = 1;
        const ps::VqaEvalResult alone = ps::evaluate_vqa(*model, set, opt, ps::JobControl{});
        for (size_t i = 0; i < 2; ++i) {
            QCOMPARE(written[i], pruned.records[i].answer);
            QCOMPARE(alone.records[i].answer, pruned.records[i].answer);
            QVERIFY2(std::abs(alone.records[i].nll - pruned.records[i].nll) <= 1e-4 * std::abs(alone.records[i].nll),
                     qPrintable(QString("%1 alone, %2 batched").arg(alone.records[i].nll).arg(pruned.records[i].nll)));
            QVERIFY(pruned.records[i].nll != dense.records[i].nll);  // the pruned model answered
        }

        // FastV in the decoder, the two images giving different numbers of image tokens to choose
        // among: batched, each row keeps its own share, as one at a time.
        ps_test::write_bytes(plan, (R"({"model": ")" + dir + R"(", "tokens": {"metric": "text", "language_after": 0, "language_keep": 0.5}})").toUtf8());
        const auto fastv = ps_test::run_cli({"eval", dir, "--data", questions, "--plan", plan, "--answers", answers, "--batch", "2",
                                             "--max-new-tokens", "6"});
        QVERIFY2(fastv.exit_code == 0, fastv.err.constData());
        pruning = ps::TokenPruning{};
        pruning.metric = ps::TokenMetric::Text;
        pruning.language = {{0, 0.5}};
        ps::install_token_pruning(*model, pruning);
        const ps::VqaEvalResult decoder = ps::evaluate_vqa(*model, set, opt, ps::JobControl{});  // one at a time
        opt.batch_size = 2;
        const ps::VqaEvalResult batched = ps::evaluate_vqa(*model, set, opt, ps::JobControl{});
        size_t row = 0;
        for (const QByteArray& line : ps_test::read_bytes(answers).split('\n'))
            if (!line.isEmpty()) QCOMPARE(nlohmann::json::parse(line.toStdString()).at("text").get<std::string>(), decoder.records[row++].answer);
        QCOMPARE(row, size_t{2});
        for (size_t i = 0; i < 2; ++i) {
            QCOMPARE(batched.records[i].answer, decoder.records[i].answer);
            QVERIFY2(std::abs(batched.records[i].nll - decoder.records[i].nll) <= 1e-4 * std::abs(decoder.records[i].nll),
                     qPrintable(QString("%1 alone, %2 batched").arg(decoder.records[i].nll).arg(batched.records[i].nll)));
        }
    }

    // Qwen3-VL's config fields the family reads are refused in one line naming config.json and
    // the field when they cannot describe a model, before any weight is read.
    void bad_qwen3_configs_data() {
        QTest::addColumn<QString>("tower");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("DeepStack block past the tower") << "vision_config" << "deepstack_visual_indexes" << "[0, 3]"
                                                        << "config.json: vision_config.deepstack_visual_indexes: block 3 is not one of the 3 vision blocks";
        QTest::newRow("position table not square") << "vision_config" << "num_position_embeddings" << "24"
                                                   << "config.json: vision_config.num_position_embeddings 24 is not the square of a grid side";
        QTest::newRow("rotary sections off head_dim") << "text_config" << "rope_scaling" << R"({"rope_type": "default"})"
                                                      << "config.json: text_config.rope_scaling.mrope_section: not given, and Qwen3-VL's default [24, 20, 20] "
                                                         "does not add up to head_dim / 2 = 8";
    }

    void bad_qwen3_configs() {
        QFETCH(QString, tower);
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString dir = ps_test::reference_folder(tmp_, "qwen_vl_reference.py", "qwen3_vl", {"qwen3_vl"});
        const QString bad = tmp_.filePath("qwen3-bad");
        QVERIFY(QDir().mkpath(bad));
        QFile::remove(bad + "/model.safetensors");
        QVERIFY(QFile::copy(dir + "/model.safetensors", bad + "/model.safetensors"));
        nlohmann::json config = nlohmann::json::parse(ps_test::read_bytes(dir + "/config.json").toStdString());
        config[tower.toStdString()][field.toStdString()] = nlohmann::json::parse(value.toStdString());
        ps_test::write_bytes(bad + "/config.json", QByteArray::fromStdString(config.dump()));
        try {
            ps::Vlm::load(bad.toStdString());
            QFAIL("the config was accepted");
        } catch (const ps::Error& e) {
            QCOMPARE(QString(e.what()), bad + "/" + error);
        }
    }

    void pruned_exports_reload_in_transformers_data() { parity_data(); }

    void pruned_exports_reload_in_transformers() {
        QFETCH(QString, variant);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(variant + "-40");
        const auto run = ps_test::run_python("qwen_vl_reference.py", QStringList{dir, variant, "--intermediate", "40"} + args);
        QVERIFY2(run.exit_code == 0, run.err.constData());
        ps_test::check_pruned_exports_reload(ps_test::read_reference(dir));
    }
};

QTEST_GUILESS_MAIN(TestQwenVl)
#include "test_qwen_vl.moc"
