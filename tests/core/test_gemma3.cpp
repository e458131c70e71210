// Gemma 3 in core/model/gemma3.cpp against transformers on tiny random models made by
// tests/python/gemma3_reference.py: a SigLIP vision tower of odd sizes pooled to 4 tokens an image,
// a Gemma 3 decoder with local and global layers (their own rotary bases, linear scaling on the
// global ones), q/k norms, sandwich norms drawn at random and a Gemma-style tokenizer, in the module
// and the Hub layouts. Checked: the image processor's pixels, the chat prompts with <start_of_image>
// … <end_of_image> between blank lines and without an image, every hidden state of both towers and
// the logits for a prompt about two images (each image's tokens attending to each other both ways),
// greedy answers of a left-padded batch and of the two-image prompt, streamed equal to resident;
// heatmaps; questions batched as one at a time; Wanda 2:4 and width exports that transformers
// reloads; prune, recovery, sweep and export through the CLI; configs that cannot describe the
// model refused in one line.
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/error.h"
#include "core/model/processor.h"
#include "core/token/image_tokens.h"
#include "core/token/token_importance.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"
#include "tests/core/tiled_parity.h"

namespace {

const char* const kScript = "gemma3_reference.py";

}  // namespace

class TestGemma3 : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // The module-layout reference, shared by the later slots.
    QString module_model() const { return ps_test::reference_folder(tmp_, kScript, "module", {}); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("module layout") << "module" << QStringList{};
        QTest::newRow("Hub layout, MLP 40") << "hub-40" << QStringList{"--hub-layout", "--intermediate", "40"};
    }

    void parity() {
        QFETCH(QString, name);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(name);
        const nlohmann::json questions = ps_test::reference_questions(kScript, QStringList{dir} + args);
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("Gemma 3"));

        const ps::Processor processor(*model);
        double worst_pixel = 0;
        for (const std::string image_name : {"a", "b", "c"}) {
            const cv::Mat image = ps::load_image((dir + "/" + QString::fromStdString(image_name) + ".png").toStdString());
            const ps::ImageInputs img = processor.images({image});
            QCOMPARE(img.pixel_values.sizes().vec(), ref[image_name + ".pixel_values"].sizes().vec());
            worst_pixel = std::max(worst_pixel, ps_test::diff(img.pixel_values, ref[image_name + ".pixel_values"]).first);
            QCOMPARE(ps_test::ids_of(processor.chat(image, questions.at(image_name).get<std::string>()).input_ids),
                     ps_test::ids_of(ref[image_name + ".input_ids"]));
        }
        QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
        QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ps_test::ids_of(ref["text.input_ids"]));
        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // Heatmaps: attention received over each image's 4 x 4 patches at vision block 1; FastV's over
    // its 2 x 2 pooled tokens at the decoder's first layer.
    void heatmaps() {
        const QString dir = module_model();
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        const ps::VlmInputs in = processor.chat(ps::load_image((dir + "/a.png").toStdString()), "What is shown?");
        const auto grids = ps::image_token_importance(*model, in, 1, ps::TokenMetric::Received);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 1, ps::TokenMetric::Received);
        QCOMPARE(grids.size(), size_t{1});
        QCOMPARE(grids[0].rows, 4);
        QCOMPARE(grids[0].cols, 4);
        for (int64_t i = 0; i < 16; ++i) QCOMPARE(grids[0].scores[static_cast<size_t>(i)], scores[0][i].item<float>());
        const at::Tensor image_scores = ps_test::first_layer_image_scores(*model, in);
        const auto text = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
        QCOMPARE(text[0].rows, 2);
        QCOMPARE(text[0].cols, 2);
        for (int64_t i = 0; i < 4; ++i) QCOMPARE(text[0].scores[static_cast<size_t>(i)], image_scores[i].item<float>());
    }

    void questions_batched_as_alone() {
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*ps::Vlm::load(module_model().toStdString()), ps_test::write_tiled_questions(module_model()), 3,
                                        alone);
    }

    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("tokens not a square") << "mm_tokens_per_image" << "3"
                                             << "config.json: mm_tokens_per_image 3 is not a square grid that pools the vision "
                                                "tower's 4 x 4 patches evenly";
        QTest::newRow("attention soft-capping") << "text_config.attn_logit_softcapping" << "50.0"
                                                << "config.json: text_config.attn_logit_softcapping is not supported (Gemma 3 "
                                                   "sets none)";
        QTest::newRow("a layer type missing") << "text_config.layer_types" << R"(["sliding_attention", "full_attention"])"
                                              << "config.json: text_config.layer_types must give each of the 3 layers "
                                                 "\"sliding_attention\" or \"full_attention\"";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(module_model(), bad, {{field, value}}), bad + "/" + error);
    }

    void pruned_exports_reload_in_transformers() { ps_test::check_pruned_exports_reload(ps_test::read_reference(even_mlp())); }

    // Prune, recover, sweep and export through prunestudio-cli, as for the other families.
    void loop_closes_through_the_cli() { ps_test::check_loop_through_cli(even_mlp()); }

private:
    QString even_mlp() const { return ps_test::reference_folder(tmp_, kScript, "hub-40", {"--hub-layout", "--intermediate", "40"}); }
};

QTEST_GUILESS_MAIN(TestGemma3)
#include "test_gemma3.moc"
