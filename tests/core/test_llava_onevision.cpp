// LLaVA-OneVision in core/model/llava.cpp against transformers on tiny random models made by
// tests/python/llava_tiled_reference.py --onevision: a SigLIP vision tower (with and without its
// unused pooling head) and a Qwen2 (module layout, ChatML) or LLaMA (Hub layout) decoder, with
// vision_aspect_ratio anyres_max_1 so that tiled feature maps of more than one tile's worth are
// scaled down as transformers does. Checked: the image processor's pixel values and image sizes for
// three non-square images, the image-token counts for 300 sizes and the chat prompts, every hidden
// state of both towers and the logits for a prompt about two images, greedy answers of a left-padded
// batch and of the two-image prompt, streamed equal to resident; heatmaps over the tiles (FastV's
// over the scaled-down map); questions batched as one at a time; Wanda 2:4 and width exports that
// transformers reloads; prune, recovery, sweep and export through the CLI; configs that cannot
// describe the model refused in one line.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/data/image.h"
#include "core/data/vqa_file.h"
#include "core/error.h"
#include "core/eval/vqa_eval.h"
#include "core/model/processor.h"
#include "core/token/image_tokens.h"
#include "core/token/token_importance.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"
#include "tests/core/tiled_parity.h"

namespace {

const char* const kScript = "llava_tiled_reference.py";
const QStringList kQwen2 = {"qwen2", "--onevision", "--module-layout"};

}  // namespace

class TestLlavaOnevision : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("Qwen2 decoder, module layout, ChatML") << "qwen2" << kQwen2;
        QTest::newRow("LLaMA decoder, Hub layout, SigLIP head kept") << "llama-head" << QStringList{"llama", "--onevision", "--vision-head"};
    }

    void parity() {
        QFETCH(QString, name);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(name);
        const nlohmann::json questions = ps_test::reference_questions(kScript, QStringList{dir} + args);
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);

        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("LLaVA-OneVision"));
        if (name == "llama-head") {  // SigLIP's pooling head is mapped, never run, never pruned
            int head = 0;
            for (const ps::LinearLayer& l : model->map().linears)
                if (l.name.find("vision_model.head.") != std::string::npos) {
                    ++head;
                    QVERIFY2(!l.prunable, l.name.c_str());
                }
            QVERIFY(head > 0);
        }
        double worst_pixel = 0;
        ps_test::check_tiled_processor(*model, ref, questions, worst_pixel);
        if (QTest::currentTestFailed()) return;
        // Maps scaled down to anyres_max_1's one tile of features: many of the 300 sizes, not all.
        const at::Tensor counts = ref["token_counts"];
        int scaled = 0;
        for (int64_t i = 0; i < counts.size(0); ++i) {
            const ps::AnyresLayout l = dynamic_cast<const ps::TiledVlm&>(*model).anyres()->layout(counts[i][0].item<int64_t>(),
                                                                                                  counts[i][1].item<int64_t>());
            scaled += l.packed_rows != l.rows || l.packed_cols != l.cols;
        }
        QVERIFY2(scaled > 50 && scaled < counts.size(0), qPrintable(QString("%1 of 300 maps scaled down").arg(scaled)));

        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // Heatmaps: a vision metric's cells are each tile's patches where the tile sits (SigLIP has no
    // [CLS] to drop); FastV's cover image a's 5 x 15 map, whose 5 x 13 kept part the model scaled down
    // to 3 x 8 tokens: each kept cell shows the token nearest it, the cut-off columns 0 and 14 score 0.
    void heatmaps_over_the_tiles() {
        const QString dir = ps_test::reference_folder(tmp_, kScript, "qwen2", kQwen2);
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        const int64_t side = 5;

        const auto grids = ps::image_token_importance(*model, in, 1, ps::TokenMetric::Received);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 1, ps::TokenMetric::Received);
        QCOMPARE(grids.size(), size_t{2});
        QCOMPARE(grids[0].rows, 5);
        QCOMPARE(grids[0].cols, 15);
        for (int64_t c = 0; c < 3; ++c)  // image a: one row of three tiles after its global view
            for (int64_t y = 0; y < side; ++y)
                for (int64_t x = 0; x < side; ++x)
                    QCOMPARE(grids[0].scores[static_cast<size_t>(y * 15 + c * side + x)], scores[1 + c][y * side + x].item<float>());

        const at::Tensor image_scores = ps_test::first_layer_image_scores(*model, in);
        const auto text = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
        QCOMPARE(text[0].rows, 5);
        QCOMPARE(text[0].cols, 15);
        for (int y = 0; y < 5; ++y)
            for (int x = 0; x < 15; ++x) {
                const float got = text[0].scores[static_cast<size_t>(y * 15 + x)];
                // Packed after the global view's 25: 3 rows of 8 tokens and a newline.
                const float want = (x == 0 || x == 14) ? 0.f : image_scores[25 + (y * 3 / 5) * 9 + (x - 1) * 8 / 13].item<float>();
                QVERIFY2(got == want, qPrintable(QString("(%1, %2): %3, want %4").arg(y).arg(x).arg(got).arg(want)));
            }
        const cv::Mat seen = ps::model_view(in, 0, ps::Processor(*model).image_config());
        QCOMPARE(seen.cols, 90);
        QCOMPARE(seen.rows, 30);
    }

    void questions_batched_as_alone() {
        const QString dir = ps_test::reference_folder(tmp_, kScript, "qwen2", kQwen2);
        const QString questions = ps_test::write_tiled_questions(dir);
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*ps::Vlm::load(dir.toStdString()), questions, 3, alone);
    }

    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("aspect ratio without a number") << "vision_aspect_ratio" << "\"anyres\""
                                                       << "config.json: vision_aspect_ratio must be \"anyres_max_N\" with N a positive "
                                                          "number of tiles, not \"anyres\"";
        QTest::newRow("no tiles") << "vision_aspect_ratio" << "\"anyres_max_0\""
                                  << "config.json: vision_aspect_ratio must be \"anyres_max_N\" with N a positive number of tiles, "
                                     "not \"anyres_max_0\"";
        QTest::newRow("first patch dropped") << "vision_feature_select_strategy" << "\"default\""
                                             << "config.json: vision_feature_select_strategy \"default\" drops the first patch of a "
                                                "SigLIP tower's tiles, which a tiled image's feature grid has no place for";
        QTest::newRow("unknown tower") << "vision_config.model_type" << "\"dinov2\""
                                       << "config.json: vision_config.model_type \"dinov2\" is not supported (LLaVA runs with a "
                                          "CLIP, SigLIP or ViT vision tower)";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(ps_test::reference_folder(tmp_, kScript, "qwen2", kQwen2), bad, {{field, value}}),
                 bad + "/" + error);
    }

    void pruned_exports_reload_in_transformers() {
        ps_test::check_pruned_exports_reload(ps_test::read_reference(even_mlp()));
    }

    // Prune, recover, sweep and export through prunestudio-cli: SparseGPT at 30 % (vision) and 50 %
    // (language), four SparseLoRA steps that keep every pruned weight at zero, a sweep of two
    // methods at two sparsities on the calibration questions, and an export transformers loads.
    void loop_closes_through_the_cli() {
        ps_test::check_loop_through_cli(even_mlp());
    }

private:
    // The Qwen2 reference with an MLP of even width (the width prune halves it).
    QString even_mlp() const { return ps_test::reference_folder(tmp_, kScript, "qwen2-40", kQwen2 + QStringList{"--intermediate", "40"}); }
};

QTEST_GUILESS_MAIN(TestLlavaOnevision)
#include "test_llava_onevision.moc"
