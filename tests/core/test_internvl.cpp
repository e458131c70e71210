// InternVL in core/model/internvl.cpp against transformers on tiny random models made by
// tests/python/internvl_reference.py: an InternViT of odd sizes on 28-pixel tiles (LayerNorm with
// the final layernorm, or RMSNorm with q/k norms and mean pooling; random layer scales, positions
// and [CLS]), pixel shuffle, the LayerNorm-MLP projector and a Qwen2 decoder (Hub and module
// layouts). Checked: GotOcr2ImageProcessor's tiles and thumbnail for three non-square images and
// the tile counts of 300 image sizes, the chat prompts with <img> ... </img>, every hidden state of
// both towers and the logits for a prompt about two images, greedy answers of a left-padded batch and
// of the two-image prompt, streamed equal to resident; heatmaps over the tiles as they sit in the
// image; questions batched as one at a time; Wanda 2:4 and width exports that transformers reloads;
// prune, recovery, sweep and export through the CLI; configs that cannot describe the model refused
// in one line.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/data/image.h"
#include "core/data/image_processor.h"
#include "core/error.h"
#include "core/model/processor.h"
#include "core/token/image_tokens.h"
#include "core/token/token_importance.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"
#include "tests/core/tiled_parity.h"

namespace {

const char* const kScript = "internvl_reference.py";
const QStringList kModule = {"--module-layout"};

}  // namespace

class TestInternVl : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // The Hub-layout reference with LayerNorm and the final layernorm, shared by the later slots.
    QString layer_norm_model() const { return ps_test::reference_folder(tmp_, kScript, "layer_norm", {}); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("LayerNorm, final layernorm, Hub layout") << "layer_norm" << QStringList{};
        QTest::newRow("RMSNorm, q/k norms, mean pooling, module layout")
            << "rms_norm" << QStringList{"--norm", "rms_norm", "--qk-norm", "--mean-pooling", "--module-layout"};
    }

    void parity() {
        QFETCH(QString, name);
        QFETCH(QStringList, args);
        const QString dir = tmp_.filePath(name);
        const nlohmann::json questions = ps_test::reference_questions(kScript, QStringList{dir} + args);
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("InternVL"));

        // The image processor: each image's tiles and thumbnail; the prompts around them.
        const ps::Processor processor(*model);
        const int64_t image_token = nlohmann::json::parse(ps_test::read_bytes(dir + "/config.json").toStdString())
                                        .at("image_token_id").get<int64_t>();
        double worst_pixel = 0;
        for (const std::string image_name : {"a", "b", "c"}) {
            const cv::Mat image = ps::load_image((dir + "/" + QString::fromStdString(image_name) + ".png").toStdString());
            const ps::ImageInputs img = processor.images({image});
            QCOMPARE(img.pixel_values.sizes().vec(), ref[image_name + ".pixel_values"].sizes().vec());
            QCOMPARE(ps::tile_views({static_cast<int>(img.image_tiles[0][0].item<int64_t>()), static_cast<int>(img.image_tiles[0][1].item<int64_t>())}),
                     ref[image_name + ".num_patches"].item<int64_t>());
            worst_pixel = std::max(worst_pixel, ps_test::diff(img.pixel_values, ref[image_name + ".pixel_values"]).first);
            QCOMPARE(img.tokens.front(), (ref[image_name + ".input_ids"] == image_token).sum().item<int64_t>());
            QCOMPARE(ps_test::ids_of(processor.chat(image, questions.at(image_name).get<std::string>()).input_ids),
                     ps_test::ids_of(ref[image_name + ".input_ids"]));
        }
        QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
        QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ps_test::ids_of(ref["text.input_ids"]));
        const at::Tensor counts = ref["patch_counts"];
        const ps::ImageProcessorConfig& cfg = processor.image_config();
        for (int64_t i = 0; i < counts.size(0); ++i) {
            const int h = static_cast<int>(counts[i][0].item<int64_t>()), w = static_cast<int>(counts[i][1].item<int64_t>());
            const int64_t views = ps::tile_views(ps::tile_grid(h, w, cfg));
            QVERIFY2(views == counts[i][2].item<int64_t>(),
                     qPrintable(QString("%1x%2: %3 views, the processor's %4").arg(w).arg(h).arg(views).arg(counts[i][2].item<int64_t>())));
        }

        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // Heatmaps: image a (37 x 101) is cut into a row of three 28-pixel tiles and a thumbnail. A
    // vision metric's 3 x 12 map holds each tile's 4 x 4 patches where the tile sits ([CLS] dropped,
    // the thumbnail left out); FastV's 2 x 6 map each tile's 2 x 2 image tokens after the pixel shuffle.
    void heatmaps_over_the_tiles() {
        const QString dir = layer_norm_model();
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        const ps::VlmInputs in = processor.chat(ps::load_image((dir + "/a.png").toStdString()), "What is shown?");
        QCOMPARE(ps_test::ids_of(in.image_tiles), (std::vector<int64_t>{1, 3}));

        const auto grids = ps::image_token_importance(*model, in, 1, ps::TokenMetric::Cls);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 1, ps::TokenMetric::Cls).slice(1, 1);
        QCOMPARE(grids.size(), size_t{1});
        QCOMPARE(grids[0].rows, 4);
        QCOMPARE(grids[0].cols, 12);
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t y = 0; y < 4; ++y)
                for (int64_t x = 0; x < 4; ++x)
                    QCOMPARE(grids[0].scores[static_cast<size_t>(y * 12 + c * 4 + x)], scores[c][y * 4 + x].item<float>());

        const at::Tensor image_scores = ps_test::first_layer_image_scores(*model, in);
        const auto text = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
        QCOMPARE(text[0].rows, 2);
        QCOMPARE(text[0].cols, 6);
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 6; ++x)
                QCOMPARE(text[0].scores[static_cast<size_t>(y * 6 + x)], image_scores[(x / 2) * 4 + y * 2 + x % 2].item<float>());
        const cv::Mat seen = ps::model_view(in, 0, processor.image_config());
        QCOMPARE(seen.cols, 84);
        QCOMPARE(seen.rows, 28);
    }

    void questions_batched_as_alone() {
        const QString dir = layer_norm_model();
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*ps::Vlm::load(dir.toStdString()), ps_test::write_tiled_questions(dir), 3, alone);
    }

    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("unknown norm") << "vision_config.norm_type" << "\"batch_norm\""
                                      << "config.json: vision_config.norm_type must be \"layer_norm\" or \"rms_norm\", not \"batch_norm\"";
        QTest::newRow("earlier feature layer") << "vision_feature_layer" << "-2"
                                               << "config.json: vision_feature_layer must be -1: InternVL takes the vision tower's "
                                                  "last hidden state";
        QTest::newRow("[CLS] kept") << "vision_feature_select_strategy" << "\"full\""
                                    << "config.json: vision_feature_select_strategy must be \"default\": the [CLS] token has no "
                                       "place in the pixel shuffle";
        QTest::newRow("other shuffle") << "downsample_ratio" << "0.25" << "config.json: downsample_ratio must be 0.5 (2 x 2 patches a token)";
        QTest::newRow("oblong tiles") << "vision_config.image_size" << "[28, 42]"
                                      << "config.json: vision_config.image_size must be one positive size or [height, width] of equal sides";
        QTest::newRow("odd patch grid") << "vision_config.image_size" << "35"
                                        << "config.json: vision_config: a tile's 5 patches a side do not pair up for the pixel shuffle";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(layer_norm_model(), bad, {{field, value}}), bad + "/" + error);
    }

    // The calibration inputs of a file: pixel_values [views, 3, 28, 28] with image_tiles; a row's
    // views follow its tile grid.
    void inputs_file_rows() {
        const QString dir = layer_norm_model();
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        const ps::ImageInputs images = processor.images({ps::load_image((dir + "/a.png").toStdString()),
                                                         ps::load_image((dir + "/c.png").toStdString()),
                                                         ps::load_image((dir + "/b.png").toStdString())});
        const ps::ImageInputs picked = images.select({2, 0});
        QCOMPARE(ps_test::ids_of(picked.image_tiles), (std::vector<int64_t>{2, 1, 1, 3}));  // b: a column of two, a: a row of three
        QVERIFY(picked.pixel_values.equal(at::cat({images.pixel_values.narrow(0, 11, 3), images.pixel_values.narrow(0, 0, 4)})));
    }

    void pruned_exports_reload_in_transformers() {
        ps_test::check_pruned_exports_reload(ps_test::read_reference(even_mlp()));
    }

    // Prune, recover, sweep and export through prunestudio-cli, as for LLaVA-OneVision.
    void loop_closes_through_the_cli() {
        ps_test::check_loop_through_cli(even_mlp());
    }

private:
    QString even_mlp() const {
        return ps_test::reference_folder(tmp_, kScript, "module-40", QStringList{"--module-layout", "--intermediate", "40"});
    }
};

QTEST_GUILESS_MAIN(TestInternVl)
#include "test_internvl.moc"
