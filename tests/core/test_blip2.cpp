// BLIP-2 in core/model/blip2.cpp against transformers on tiny random models made by
// tests/python/blip2_reference.py: a ViT with fused qkv, a Q-Former of 4 queries with
// cross-attention every other layer, and an OPT decoder, every parameter drawn at random. Checked: the image processor's pixels, the prompts (the queries' image
// tokens before BOS; none without an image), every hidden state of the three towers and the logits,
// greedy answers of a left-padded batch (padding between the image tokens and the text, as
// Blip2Processor writes it) and of one prompt, streamed equal to resident; the [CLS] heatmap and
// the refusal of a text-guided one; questions batched as one at a time; Wanda 2:4 and width
// (ffn_dim) exports that transformers reloads; prune, recovery, sweep and export through the CLI;
// configs that cannot describe the model refused in one line.
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

const char* const kScript = "blip2_reference.py";

}  // namespace

class TestBlip2 : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    QString model_dir() const { return ps_test::reference_folder(tmp_, kScript, "blip2", {}); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity() {
        const QString dir = tmp_.filePath("blip2");
        const nlohmann::json questions = ps_test::reference_questions(kScript, QStringList{dir});
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("BLIP-2"));
        QCOMPARE(model->towers().size(), size_t{3});

        const ps::Processor processor(*model);
        double worst_pixel = 0;
        for (const std::string name : {"a", "b", "c"}) {
            const cv::Mat image = ps::load_image((dir + "/" + QString::fromStdString(name) + ".png").toStdString());
            const ps::ImageInputs img = processor.images({image});
            worst_pixel = std::max(worst_pixel, ps_test::diff(img.pixel_values, ref[name + ".pixel_values"]).first);
            QCOMPARE(ps_test::ids_of(processor.chat(image, questions.at(name).get<std::string>()).input_ids),
                     ps_test::ids_of(ref[name + ".input_ids"]));
        }
        QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
        QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ps_test::ids_of(ref["text.input_ids"]));
        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // [CLS] attention over the 4 x 4 patches; text-guided importance has no map over the queries.
    void heatmaps() {
        const QString dir = model_dir();
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        const ps::VlmInputs in = processor.chat(ps::load_image((dir + "/a.png").toStdString()), "What is shown?");
        const auto grids = ps::image_token_importance(*model, in, 1, ps::TokenMetric::Cls);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 1, ps::TokenMetric::Cls).slice(1, 1);
        QCOMPARE(grids[0].rows, 4);
        QCOMPARE(grids[0].cols, 4);
        for (int64_t i = 0; i < 16; ++i) QCOMPARE(grids[0].scores[static_cast<size_t>(i)], scores[0][i].item<float>());
        try {
            ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
            QFAIL("a text-guided map over the Q-Former's queries was drawn");
        } catch (const ps::Error& e) {
            QCOMPARE(QString(e.what()), QString("tokens.metric: BLIP-2's image tokens are learned queries, not places in the image: "
                                                "text-guided importance has no map to draw"));
        }
    }

    void questions_batched_as_alone() {
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*ps::Vlm::load(model_dir().toStdString()), ps_test::write_tiled_questions(model_dir()), 3, alone);
    }

    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("T5 language model") << "text_config.model_type" << "\"t5\""
                                           << "config.json: text_config.model_type \"t5\" is not supported (BLIP-2 runs with an "
                                              "OPT language model)";
        QTest::newRow("no image token") << "image_token_index" << "null"
                                        << "config.json: image_token_index is not set: the prompt has no image tokens to put the "
                                           "Q-Former's outputs at (checkpoints before transformers 4.47 prepend them; convert "
                                           "with their processor)";
        QTest::newRow("InstructBLIP's text input") << "qformer_config.use_qformer_text_input" << "true"
                                                   << "config.json: qformer_config.use_qformer_text_input: the Q-Former's text "
                                                      "input (InstructBLIP) is not supported";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(model_dir(), bad, {{field, value}}), bad + "/" + error);
    }

    void pruned_exports_reload_in_transformers() { ps_test::check_pruned_exports_reload(ps_test::read_reference(even_mlp())); }

    // Prune, recover, sweep and export through prunestudio-cli, as for the other families.
    void loop_closes_through_the_cli() { ps_test::check_loop_through_cli(even_mlp()); }

private:
    QString even_mlp() const { return ps_test::reference_folder(tmp_, kScript, "blip2-40", {"--intermediate", "40"}); }
};

QTEST_GUILESS_MAIN(TestBlip2)
#include "test_blip2.moc"
