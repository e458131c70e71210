// LLaVA-NeXT in core/model/llava.cpp against transformers on tiny random models made by
// tests/python/llava_tiled_reference.py with a LLaMA (Hub layout), Mistral (module layout) and Qwen2
// (module layout, ChatML) decoder: the anyres image processor's pixel values and image sizes for
// three non-square images (wide, tall, small), the image-token counts and chat prompts, every hidden
// state of both towers (every tile of two images) and the logits for a prompt about two images,
// greedy answers of a left-padded batch and of the two-image prompt, and the streamed model equal to
// the resident one. Heatmaps lay each image's tiles out as they sit in the image. Questions about
// images of different tile counts answer batched as one at a time, through the CLI too. A Wanda 2:4
// language-only prune and a width prune of the decoder's MLP export folders that transformers
// reloads with the logits of our pruned model. Configs and inputs that cannot describe a tiled model
// are refused in one line.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/data/image.h"
#include "core/data/vqa_file.h"
#include "core/eval/vqa_eval.h"
#include "core/error.h"
#include "core/model/processor.h"
#include "core/token/image_tokens.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"
#include "tests/core/tiled_parity.h"

class TestLlavaNext : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("LLaMA decoder, Hub layout") << "llama" << QStringList{};
        QTest::newRow("Mistral decoder, module layout") << "mistral" << QStringList{"--module-layout"};
        QTest::newRow("Qwen2 decoder, module layout, ChatML") << "qwen2" << QStringList{"--module-layout"};
    }

    void parity() {
        QFETCH(QString, text);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(text);
        const nlohmann::json questions = ps_test::reference_questions("llava_tiled_reference.py", QStringList{dir, text} + args);
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);

        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("LLaVA-NeXT"));
        double worst_pixel = 0;
        ps_test::check_tiled_processor(*model, ref, questions, worst_pixel);
        if (QTest::currentTestFailed()) return;

        // Every hidden state and the logits for a prompt about two images; greedy answers; streamed.
        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // Heatmaps over the image as the model tiled it: for a vision metric, the cell of patch (y, x) of
    // tile (r, c) sits at row r·side + y, column c·side + x and holds that patch's score in its view;
    // for FastV's text metric, the decoder's image tokens fill the map but for the padding transformers
    // cut off, which scores 0. The model's view is its tiles put back together, padding included.
    void heatmaps_over_the_tiles() {
        const QString dir = ps_test::reference_folder(tmp_, "llava_tiled_reference.py", "llama", {"llama"});
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        const int64_t side = 5;  // 30-pixel tiles of 6-pixel patches
        // Image a (37 x 101) is one row of three tiles, image b (95 x 41) one column of three.
        const std::vector<std::array<int64_t, 2>> tiles = {{1, 3}, {3, 1}};

        const auto grids = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Received);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 0, ps::TokenMetric::Received).slice(1, 1);
        QCOMPARE(grids.size(), size_t{2});
        int64_t view = 0;
        for (size_t i = 0; i < 2; ++i) {
            const auto [gr, gc] = tiles[i];
            QCOMPARE(grids[i].rows, static_cast<int>(gr * side));
            QCOMPARE(grids[i].cols, static_cast<int>(gc * side));
            for (int64_t r = 0; r < gr; ++r)
                for (int64_t c = 0; c < gc; ++c)
                    for (int64_t y = 0; y < side; ++y)
                        for (int64_t x = 0; x < side; ++x) {
                            const float want = scores[view + 1 + r * gc + c][y * side + x].item<float>();
                            QCOMPARE(grids[i].scores[static_cast<size_t>((r * side + y) * gc * side + c * side + x)], want);
                        }
            view += 1 + gr * gc;
        }

        // FastV's text metric at decoder layer 0: image a keeps 13 of its 15 feature columns
        // (transformers cuts one padded column off each side), so columns 0 and 14 score 0.
        const auto text = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
        QCOMPARE(text.size(), size_t{2});
        QCOMPARE(text[0].rows, 5);
        QCOMPARE(text[0].cols, 15);
        for (int y = 0; y < 5; ++y)
            for (int x = 0; x < 15; ++x) {
                const float v = text[0].scores[static_cast<size_t>(y * 15 + x)];
                QVERIFY2((x == 0 || x == 14) ? v == 0 : v > 0, qPrintable(QString("(%1, %2): %3").arg(y).arg(x).arg(v)));
            }

        // What the model saw of image a: 90 x 30 pixels of tiles, the image scaled to 82 x 30 between
        // 4-pixel black bands.
        const cv::Mat seen = ps::model_view(in, 0, ps::Processor(*model).image_config());
        QCOMPARE(seen.cols, 90);
        QCOMPARE(seen.rows, 30);
        QCOMPARE(cv::countNonZero(seen.colRange(0, 4).clone().reshape(1)), 0);
        QCOMPARE(cv::countNonZero(seen.colRange(86, 90).clone().reshape(1)), 0);
        QVERIFY(cv::countNonZero(seen.col(4).clone().reshape(1)) > 0 && cv::countNonZero(seen.col(85).clone().reshape(1)) > 0);
    }

    // A question file about images of 4, 4 and 3 views: batched (views zero-padded to the most,
    // prompts left-padded) the answers and likelihoods are those of one question at a time, and
    // prunestudio-cli eval writes the same answers.
    void questions_batched_as_alone() {
        const QString dir = ps_test::reference_folder(tmp_, "llava_tiled_reference.py", "qwen2", {"qwen2", "--module-layout"});
        const QString questions = ps_test::write_tiled_questions(dir), answers = dir + "/answers.jsonl";
        auto model = ps::Vlm::load(dir.toStdString());
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*model, questions, 3, alone);
        if (QTest::currentTestFailed()) return;
        const auto cli = ps_test::run_cli({"eval", dir, "--data", questions, "--answers", answers, "--batch", "3", "--max-new-tokens", "5"});
        QVERIFY2(cli.exit_code == 0, cli.err.constData());
        size_t row = 0;
        for (const QByteArray& line : ps_test::read_bytes(answers).split('\n'))
            if (!line.isEmpty())
                QCOMPARE(nlohmann::json::parse(line.toStdString()).at("text").get<std::string>(), alone.records[row++].answer);
        QCOMPARE(row, size_t{3});
    }

    // Inputs a tiled model cannot take are refused in one line naming the tensor.
    void bad_inputs() {
        const QString dir = ps_test::reference_folder(tmp_, "llava_tiled_reference.py", "llama", {"llama"});
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        auto refused = [&](ps::VlmInputs in, const std::string& want) {
            try {
                model->forward(in);
                QFAIL("the inputs were accepted");
            } catch (const ps::Error& e) {
                QCOMPARE(std::string(e.what()), want);
            }
        };
        ps::VlmInputs in = ps_test::reference_inputs(ref);
        in.image_sizes = at::Tensor();
        refused(in, "image_sizes: a tiled model (LLaVA-NeXT, OneVision) takes each image's [height, width] with its pixel_values");
        in = ps_test::reference_inputs(ref);
        in.pixel_values = in.pixel_values.narrow(1, 0, 3);
        refused(in, "pixel_values: image 0 needs 4 views (1x3 tiles and the global view); pixel_values [2, 3, 3, 30, 30] has not");
        in = ps_test::reference_inputs(ref);
        in.image_sizes = in.image_sizes.narrow(0, 0, 1);
        refused(in, "pixel_values: [2, 4, 3, 30, 30] holds 2 images, image_sizes 1");
        in = ps_test::reference_inputs(ref);
        in.image_sizes = at::tensor({37, 101, 0, 41}, at::kLong).view({2, 2});
        refused(in, "image_sizes: an image of 41x0 pixels cannot be tiled (each side 1 to 1048576 pixels)");
        in = ps_test::reference_inputs(ref);  // one image token fewer
        const int64_t image_token = nlohmann::json::parse(ps_test::read_bytes(dir + "/config.json").toStdString())
                                        .at("image_token_index").get<int64_t>();
        const at::Tensor ids = in.input_ids[0];
        const int64_t first = (ids == image_token).nonzero()[0][0].item<int64_t>(), n = ids.size(0);
        in.input_ids = at::cat({ids.narrow(0, 0, first), ids.narrow(0, first + 1, n - first - 1)}).unsqueeze(0);
        const int64_t features = (ids == image_token).sum().item<int64_t>();
        refused(in, "input_ids: " + std::to_string(features - 1) + " image tokens (id " + std::to_string(image_token) +
                        ") but the 2 image(s) give " + std::to_string(features) + " features; each feature needs one token");
    }

    // config.json fields that cannot describe a tiled model are refused in one line naming the
    // file and the field, before any weight is read; a Mistral sequence longer than its sliding
    // window is refused, not run without the window.
    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("pinpoint smaller than a tile") << "image_grid_pinpoints" << "[[30, 60], [20, 30]]"
                                                      << "config.json: image_grid_pinpoints must be a list of [height, width] of at least "
                                                         "one 30-pixel tile and at most 8192 pixels, not [[30,60],[20,30]]";
        QTest::newRow("pinpoints not a list") << "image_grid_pinpoints" << "{}"
                                              << "config.json: image_grid_pinpoints must be a list of [height, width] of at least "
                                                 "one 30-pixel tile and at most 8192 pixels, not {}";
        QTest::newRow("[CLS] kept") << "vision_feature_select_strategy" << "\"full\""
                                    << "config.json: vision_feature_select_strategy \"full\" keeps the vision tower's [CLS] token, "
                                       "which a tiled image's feature grid has no place for";
        QTest::newRow("unknown decoder") << "text_config.model_type" << "\"gemma\""
                                         << "config.json: text_config.model_type \"gemma\" is not supported (the decoder may be LLaMA, "
                                            "Mistral, Qwen2 or Gemma 3)";
        QTest::newRow("Qwen2 sliding window") << "text_config.use_sliding_window" << "true"
                                              << "config.json: text_config.use_sliding_window: sliding-window attention is not "
                                                 "supported for Qwen2 decoders";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString dir = ps_test::reference_folder(tmp_, "llava_tiled_reference.py", "llama", {"llama"});
        QList<QPair<QString, QString>> edits{{field, value}};
        if (field == "text_config.use_sliding_window") edits.append(qMakePair(QString("text_config.model_type"), QString("\"qwen2\"")));
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(dir, bad, edits), bad + "/" + error);
    }

    void sliding_window_is_not_outgrown() {
        const QString dir = ps_test::reference_folder(tmp_, "llava_tiled_reference.py", "mistral", {"mistral", "--module-layout"});
        const QString copy = tmp_.filePath("mistral-window");
        QVERIFY(QDir().mkpath(copy));
        for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"})
            QVERIFY(QFile::copy(dir + "/" + f, copy + "/" + f));
        nlohmann::json config = nlohmann::json::parse(ps_test::read_bytes(dir + "/config.json").toStdString());
        config["text_config"]["sliding_window"] = 100;
        ps_test::write_bytes(copy + "/config.json", QByteArray::fromStdString(config.dump()));
        const ps_test::Reference ref = ps_test::read_reference(dir);
        try {
            ps::Vlm::load(copy.toStdString())->forward(ps_test::reference_inputs(ref));
            QFAIL("a sequence longer than the sliding window ran");
        } catch (const ps::Error& e) {
            QCOMPARE(std::string(e.what()), "input_ids: " + std::to_string(ref["input_ids"].size(1)) +
                                                " tokens are more than the decoder's sliding window of 100 (sliding-window "
                                                "attention is not supported)");
        }
        // A null window is MistralConfig's None: no window, the model's logits.
        config["text_config"]["sliding_window"] = nullptr;
        ps_test::write_bytes(copy + "/config.json", QByteArray::fromStdString(config.dump()));
        QVERIFY(ps_test::diff(ps::Vlm::load(copy.toStdString())->forward(ps_test::reference_inputs(ref)).logits, ref["logits"]).first <= 1e-4);
    }

    void pruned_exports_reload_in_transformers_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("LLaMA decoder, Hub layout") << "llama" << QStringList{};
        QTest::newRow("Qwen2 decoder, module layout") << "qwen2" << QStringList{"--module-layout"};
    }

    void pruned_exports_reload_in_transformers() {
        QFETCH(QString, text);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(text + "-40");
        const auto run = ps_test::run_python("llava_tiled_reference.py", QStringList{dir, text, "--intermediate", "40"} + args);
        QVERIFY2(run.exit_code == 0, run.err.constData());
        ps_test::check_pruned_exports_reload(ps_test::read_reference(dir));
    }
};

QTEST_GUILESS_MAIN(TestLlavaNext)
#include "test_llava_next.moc"
