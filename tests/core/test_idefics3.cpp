// Idefics3 and SmolVLM in core/model/idefics3.cpp against transformers on tiny random models made by
// tests/python/idefics3_reference.py: SmolVLM with SmolLM2's tokenizer (pixel shuffle by 3) and
// Idefics3 with a Llama-3-style one (by 2), each a SigLIP-style vision tower of odd sizes and a LLaMA
// decoder. Checked: the image processor's tiles and global image for three non-square images and
// the tile grids of 300 image sizes, the chat prompts with their <row_r_col_c> and <global-img>
// markers and without an image, every hidden state of both towers and the logits for a prompt about
// two images (pixel_values as transformers batches them), greedy answers of a left-padded batch and
// of the two-image prompt, streamed equal to resident; heatmaps over the tiles as they sit in the
// image; questions batched as one at a time; Wanda 2:4 and width exports that transformers reloads;
// prune, recovery, sweep and export through the CLI; configs and tokenizers that cannot describe the
// model refused in one line.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

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

const char* const kScript = "idefics3_reference.py";

}  // namespace

class TestIdefics3 : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // The Idefics3 reference, shared by the later slots.
    QString idefics3_model() const { return ps_test::reference_folder(tmp_, kScript, "idefics3", {"idefics3"}); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void parity_data() {
        QTest::addColumn<QString>("variant");
        QTest::newRow("SmolVLM, SmolLM2 tokenizer, shuffle by 3") << "smolvlm";
        QTest::newRow("Idefics3, Llama-3-style tokenizer, shuffle by 2") << "idefics3";
    }

    void parity() {
        QFETCH(QString, variant);
        const QString dir = tmp_.filePath(variant);
        const nlohmann::json questions = ps_test::reference_questions(kScript, QStringList{dir, variant});
        if (QTest::currentTestFailed()) return;
        const ps_test::Reference ref = ps_test::read_reference(dir);
        auto model = ps::Vlm::load(dir.toStdString());
        QCOMPARE(QString::fromStdString(model->map().family_display), QString("Idefics3 / SmolVLM"));

        // The image processor: each image's tiles and global image; the prompts around them.
        const ps::Processor processor(*model);
        double worst_pixel = 0;
        for (const std::string name : {"a", "b", "c"}) {
            const cv::Mat image = ps::load_image((dir + "/" + QString::fromStdString(name) + ".png").toStdString());
            const ps::ImageInputs img = processor.images({image});
            QCOMPARE(img.pixel_values.sizes().vec(), ref[name + ".pixel_values"].sizes().vec());
            QCOMPARE(ps_test::ids_of(img.image_tiles), ps_test::ids_of(ref[name + ".tiles"]));
            worst_pixel = std::max(worst_pixel, ps_test::diff(img.pixel_values, ref[name + ".pixel_values"]).first);
            QCOMPARE(ps_test::ids_of(processor.chat(image, questions.at(name).get<std::string>()).input_ids),
                     ps_test::ids_of(ref[name + ".input_ids"]));
        }
        QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
        QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ps_test::ids_of(ref["text.input_ids"]));
        const at::Tensor counts = ref["tile_counts"];  // the processor's rows and columns, 0 for an image not split
        for (int64_t i = 0; i < counts.size(0); ++i) {
            const int h = static_cast<int>(counts[i][0].item<int64_t>()), w = static_cast<int>(counts[i][1].item<int64_t>());
            const std::array<int, 2> grid = ps::tile_grid(h, w, processor.image_config());
            const std::array<int, 2> want{std::max<int>(1, static_cast<int>(counts[i][2].item<int64_t>())),
                                          std::max<int>(1, static_cast<int>(counts[i][3].item<int64_t>()))};
            QVERIFY2(grid == want, qPrintable(QString("%1x%2: %3x%4 tiles, the processor's %5x%6")
                                                  .arg(w).arg(h).arg(grid[0]).arg(grid[1]).arg(want[0]).arg(want[1])));
        }

        ps_test::check_outputs(*model, ref, worst_pixel);
    }

    // Heatmaps: image a (37 x 101) becomes two rows of four 28-pixel tiles and a global image. A
    // vision metric's 8 x 16 map holds each tile's 4 x 4 patches where the tile sits (the global
    // image left out); FastV's 4 x 8 map each tile's 2 x 2 image tokens after the pixel shuffle.
    void heatmaps_over_the_tiles() {
        const QString dir = idefics3_model();
        auto model = ps::Vlm::load(dir.toStdString());
        const ps::Processor processor(*model);
        const ps::VlmInputs in = processor.chat(ps::load_image((dir + "/a.png").toStdString()), "What is shown?");
        QCOMPARE(ps_test::ids_of(in.image_tiles), (std::vector<int64_t>{2, 4}));

        const auto grids = ps::image_token_importance(*model, in, 1, ps::TokenMetric::Received);
        const at::Tensor scores = ps_test::vision_block_scores(*model, in, 1, ps::TokenMetric::Received);
        QCOMPARE(grids.size(), size_t{1});
        QCOMPARE(grids[0].rows, 8);
        QCOMPARE(grids[0].cols, 16);
        for (int64_t r = 0; r < 2; ++r)
            for (int64_t c = 0; c < 4; ++c)
                for (int64_t y = 0; y < 4; ++y)
                    for (int64_t x = 0; x < 4; ++x)
                        QCOMPARE(grids[0].scores[static_cast<size_t>((r * 4 + y) * 16 + c * 4 + x)],
                                 scores[r * 4 + c][y * 4 + x].item<float>());

        const at::Tensor image_scores = ps_test::first_layer_image_scores(*model, in);
        QCOMPARE(image_scores.size(0), int64_t{9 * 4});
        const auto text = ps::image_token_importance(*model, in, 0, ps::TokenMetric::Text);
        QCOMPARE(text[0].rows, 4);
        QCOMPARE(text[0].cols, 8);
        for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 8; ++x)
                QCOMPARE(text[0].scores[static_cast<size_t>(y * 8 + x)],
                         image_scores[((y / 2) * 4 + x / 2) * 4 + (y % 2) * 2 + x % 2].item<float>());
        const cv::Mat seen = ps::model_view(in, 0, processor.image_config());
        QCOMPARE(seen.cols, 112);
        QCOMPARE(seen.rows, 56);
    }

    void questions_batched_as_alone() {
        ps::VqaEvalResult alone;
        ps_test::check_batched_as_alone(*ps::Vlm::load(idefics3_model().toStdString()), ps_test::write_tiled_questions(idefics3_model()),
                                        3, alone);
    }

    void bad_configs_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("shuffle that does not divide") << "scale_factor" << "3"
                                                      << "config.json: scale_factor 3 does not divide the 4 patches a side of the "
                                                         "vision tower's images";
        QTest::newRow("heads that do not split") << "vision_config.num_attention_heads" << "5"
                                                 << "config.json: vision_config: hidden_size must split into num_attention_heads "
                                                    "and image_size hold a patch";
    }

    void bad_configs() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, error);
        const QString bad = tmp_.filePath("bad-config");
        QCOMPARE(ps_test::load_error_with(idefics3_model(), bad, {{field, value}}), bad + "/" + error);
    }

    // A tokenizer without a tile's marker cannot write the prompt: one line naming the token.
    void missing_marker_refused() {
        const QString dir = idefics3_model(), copy = tmp_.filePath("no-marker");
        QDir().mkpath(copy);
        for (const QString& f : QDir(dir).entryList({"*.json", "*.jinja", "*.safetensors"}, QDir::Files))
            if (f != "reference.safetensors") QFile::copy(dir + "/" + f, copy + "/" + f);
        QByteArray tokenizer = ps_test::read_bytes(copy + "/tokenizer.json");
        tokenizer.replace("<row_2_col_3>", "<row_2_col_x>");
        ps_test::write_bytes(copy + "/tokenizer.json", tokenizer);
        auto model = ps::Vlm::load(copy.toStdString());
        const ps::Processor processor(*model);
        try {
            processor.chat(ps::load_image((dir + "/a.png").toStdString()), "What is shown?");
            QFAIL("a prompt without its tile marker was written");
        } catch (const ps::Error& e) {
            QCOMPARE(QString(e.what()), QString("tokenizer: has no <row_2_col_3> token, which the model's prompts put around each image"));
        }
    }

    void pruned_exports_reload_in_transformers() { ps_test::check_pruned_exports_reload(ps_test::read_reference(even_mlp())); }

    // Prune, recover, sweep and export through prunestudio-cli, as for InternVL.
    void loop_closes_through_the_cli() { ps_test::check_loop_through_cli(even_mlp()); }

private:
    QString even_mlp() const {
        return ps_test::reference_folder(tmp_, kScript, "idefics3-40", QStringList{"idefics3", "--intermediate", "40"});
    }
};

QTEST_GUILESS_MAIN(TestIdefics3)
#include "test_idefics3.moc"
