// core/data/inputs_file.cpp and its calibration source: a .safetensors file of model inputs gives
// exactly the batches the processor would (same ids, labels, pixels, logits), its first rows in
// file order; a patch-grid file hands each row its own patches; a checkpoint without tokenizer
// files prunes with Wanda from such a file; every malformed file gives one line naming the file and
// the tensor.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/data/fashion_mnist.h"
#include "core/data/inputs_file.h"
#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

class TestInputsFile : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // The processor's batches for three test images, one question and answer (equal lengths).
    std::vector<ps::VlmInputs> processor_batches(const ps::Vlm& model) {
        const ps::Processor processor(model);
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        std::vector<ps::VlmInputs> out;
        for (int64_t i : {3, 1, 4})
            out.push_back(processor.chat(ps::labelled_image_rgb(test, i), "What is in this image?", "A garment."));
        return out;
    }

    std::string save(const QString& name, const ps::NamedTensors& tensors) {
        const std::string path = tmp_.filePath(name).toStdString();
        ps::save_safetensors(path, tensors);
        return path;
    }

    static ps::NamedTensors stacked(const std::vector<ps::VlmInputs>& b) {
        std::vector<at::Tensor> ids, mask, labels, pixels;
        for (const ps::VlmInputs& in : b) {
            ids.push_back(in.input_ids);
            mask.push_back(at::ones_like(in.input_ids).to(at::kInt));  // an int32 mask is widened
            labels.push_back(in.labels);
            pixels.push_back(in.pixel_values.to(at::kHalf).to(at::kFloat));  // exact in float16 below
        }
        return {{"input_ids", at::cat(ids).to(at::kInt)}, {"attention_mask", at::cat(mask)}, {"labels", at::cat(labels)},
                {"pixel_values", at::cat(pixels).to(at::kHalf)}};
    }

private Q_SLOTS:
    void equals_the_processor_batches() {
        auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const std::vector<ps::VlmInputs> want = processor_batches(*model);
        QCOMPARE(want[0].input_ids.sizes(), want[2].input_ids.sizes());
        ps::CalibrationOptions c;
        c.data = save("inputs.safetensors", stacked(want));
        c.samples = 2;  // the first rows, in file order, whatever the seed
        const uint64_t seed = 5;
        const auto got = ps::calibration_batches(*model, c, seed);
        QCOMPARE(got.size(), size_t{2});
        for (size_t i = 0; i < got.size(); ++i) {
            const ps::VlmInputs& w = want[i];
            const ps::VlmInputs& g = got[i];
            QCOMPARE(g.input_ids.scalar_type(), at::kLong);
            QVERIFY(g.input_ids.equal(w.input_ids));
            QVERIFY(g.labels.equal(w.labels));
            QVERIFY(g.attention_mask.equal(at::ones_like(w.input_ids)));
            QCOMPARE(g.pixel_values.scalar_type(), at::kFloat);
            QVERIFY(g.pixel_values.equal(w.pixel_values.to(at::kHalf).to(at::kFloat)));
            ps::VlmInputs rounded = w;
            rounded.pixel_values = g.pixel_values;
            QVERIFY(model->forward(g).logits.equal(model->forward(rounded).logits));
        }
        c.samples = 4;
        QVERIFY(ps_test::error_of([&] { ps::calibration_batches(*model, c, seed); }).endsWith("calibration asks for 4 samples, the file has 3 rows"));
    }

    void grid_rows_get_their_patches() {
        const at::Tensor pixels = at::arange(12 * 5, at::kFloat).reshape({12, 5});
        const std::string path = save("grid.safetensors", {{"input_ids", at::zeros({2, 4}, at::kLong)},
                                                           {"pixel_values", pixels},
                                                           {"image_grid_thw", at::tensor({1, 2, 2, 1, 2, 4}, at::kLong).reshape({2, 3})}});
        const ps::InputsFile f = ps::read_inputs_file(path);
        QCOMPARE(f.patch_begin, (std::vector<int64_t>{0, 4, 12}));
        const ps::VlmInputs b = ps::inputs_rows(f, {1, 0});
        QVERIFY(b.pixel_values.equal(at::cat({pixels.slice(0, 4, 12), pixels.slice(0, 0, 4)})));
        QVERIFY(b.image_grid_thw.equal(at::tensor({1, 2, 4, 1, 2, 2}, at::kLong).reshape({2, 3})));
        QVERIFY(!b.attention_mask.defined() && !b.labels.defined());
    }

    // LLaVA-NeXT's processor output: every row's views [S,V,C,H,W] with image_sizes [S,2].
    void tiled_rows_get_their_views() {
        const at::Tensor views = at::arange(2 * 3 * 3 * 2 * 2, at::kFloat).reshape({2, 3, 3, 2, 2});
        const at::Tensor sizes = at::tensor({37, 101, 20, 26}, at::kLong).reshape({2, 2});
        const std::string path = save("tiled.safetensors", {{"input_ids", at::zeros({2, 4}, at::kLong)},
                                                            {"pixel_values", views},
                                                            {"image_sizes", sizes}});
        const ps::VlmInputs b = ps::inputs_rows(ps::read_inputs_file(path), {1, 0});
        QVERIFY(b.pixel_values.equal(views.flip(0)));
        QVERIFY(b.image_sizes.equal(sizes.flip(0)));
        QVERIFY(!b.image_grid_thw.defined());
    }

    // InternVL's processor output: every row's tiles and thumbnail one after another [V,C,H,W] with
    // image_tiles [S,2]: 1 x 3 tiles and a thumbnail, then a single tile.
    void cropped_rows_get_their_views() {
        const at::Tensor views = at::arange(5 * 3 * 2 * 2, at::kFloat).reshape({5, 3, 2, 2});
        const at::Tensor tiles = at::tensor({1, 3, 1, 1}, at::kLong).reshape({2, 2});
        const std::string path = save("cropped.safetensors", {{"input_ids", at::zeros({2, 4}, at::kLong)},
                                                              {"pixel_values", views},
                                                              {"image_tiles", tiles}});
        const ps::InputsFile f = ps::read_inputs_file(path);
        QCOMPARE(f.patch_begin, (std::vector<int64_t>{0, 4, 5}));
        const ps::VlmInputs b = ps::inputs_rows(f, {1, 0});
        QVERIFY(b.pixel_values.equal(at::cat({views.slice(0, 4, 5), views.slice(0, 0, 4)})));
        QVERIFY(b.image_tiles.equal(tiles.flip(0)));
        QVERIFY(!b.image_grid_thw.defined() && !b.image_sizes.defined());
    }

    // Wanda needs calibration inputs, which a checkpoint without tokenizer files cannot build from
    // text; a file of inputs calibrates it, and the run equals one on the processor's own batches.
    void prunes_a_checkpoint_without_tokenizer() {
        auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const std::string inputs = save("calib.safetensors", stacked(processor_batches(*model)));
        const std::string bare = tmp_.filePath("bare").toStdString();
        fs::create_directories(bare);
        for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(fs::path(PS_DEFAULT_VLM) / f, fs::path(bare) / f);
        ps::Plan p;
        p.model = bare;
        p.method = "wanda";
        p.sparsity = 0.5;
        p.targets = {"model\\.language_model\\.layers\\.[01]\\.mlp\\..*"};
        p.calibration.samples = 3;
        QVERIFY(ps_test::error_of([&] { ps::run_prune(p, tmp_.filePath("no-data").toStdString(), {}); }).contains("needs calibration data"));
        p.calibration.data = inputs;
        const ps::PruneRunSummary s = ps::run_prune(p, tmp_.filePath("pruned").toStdString(), {});
        QCOMPARE(s.result.at("total").at("sparsity").get<double>(), 0.5);
        QVERIFY(s.result.at("tensors").at(0).contains("relative_error"));  // measured on the calibration inputs
        const auto pruned = ps::Vlm::load(s.out_dir);
        const at::Tensor w = pruned->weights().get("model.language_model.layers.1.mlp.down_proj.weight");
        QCOMPARE((w == 0).sum().item<int64_t>() * 2, w.numel());
    }

    void bad_files_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("expected");  // after "<file>: "
        QTest::newRow("no input_ids") << "no_ids" << "input_ids: missing";
        QTest::newRow("unknown tensor") << "unknown" << "image: not a model input";
        QTest::newRow("float ids") << "float_ids" << "input_ids: must be a non-empty integer [samples, tokens] tensor, is F32 [2,4]";
        QTest::newRow("1-D ids") << "flat_ids" << "input_ids: must be a non-empty integer [samples, tokens] tensor, is I64 [8]";
        QTest::newRow("negative id") << "negative" << "input_ids: holds a negative token id (-3)";
        QTest::newRow("mask shape") << "mask_shape" << "attention_mask: must be an integer tensor shaped as input_ids [2,4], is I64 [2,3]";
        QTest::newRow("mask value") << "mask_value" << "attention_mask: holds 2; only 0 and 1 are allowed";
        QTest::newRow("float labels") << "float_labels" << "labels: must be an integer tensor shaped as input_ids [2,4], is F32 [2,4]";
        QTest::newRow("integer pixels") << "int_pixels" << "pixel_values: must be floating point, is I64";
        QTest::newRow("pixel rows") << "pixel_rows" << "pixel_values: must be [samples, channels, height, width] with one image per input_ids row (2), is [3,3,8,8]";
        QTest::newRow("empty image") << "empty_image" << "pixel_values: has an empty dimension: [2,3,0,8]";
        QTest::newRow("grid alone") << "grid_alone" << "image_grid_thw: given without pixel_values";
        QTest::newRow("grid shape") << "grid_shape" << "image_grid_thw: must be an integer [samples, 3] tensor (one image per input_ids row), is [2,2]";
        QTest::newRow("grid zero") << "grid_zero" << "image_grid_thw: row 1 has grid size 0";
        QTest::newRow("grid sum") << "grid_sum" << "pixel_values: has 12 patches, image_grid_thw adds up to 8";
        QTest::newRow("grid too large") << "grid_large" << "pixel_values: has 12 patches, image_grid_thw adds up to more";
        QTest::newRow("sizes alone") << "sizes_alone" << "image_sizes: given without pixel_values";
        QTest::newRow("sizes and grid") << "sizes_grid" << "image_sizes: given with image_grid_thw; a model takes one or the other";
        QTest::newRow("sizes shape") << "sizes_shape" << "image_sizes: must be an integer [samples, 2] tensor (one image per input_ids row), is [2,3]";
        QTest::newRow("size zero") << "size_zero" << "image_sizes: holds an image side of 0 pixels";
        QTest::newRow("views rank") << "views_rank" << "pixel_values: must be [samples, views, channels, height, width] with image_sizes, is [2,3,8,8]";
        QTest::newRow("tiles alone") << "tiles_alone" << "image_tiles: given without pixel_values";
        QTest::newRow("tiles and sizes") << "tiles_sizes" << "image_tiles: given with image_sizes; a model takes one or the other";
        QTest::newRow("tiles shape") << "tiles_shape" << "image_tiles: must be an integer [samples, 2] tensor (one image per input_ids row), is [2,3]";
        QTest::newRow("tiles zero") << "tiles_zero" << "image_tiles: row 1 has grid size 0";
        QTest::newRow("tiles rank") << "tiles_rank" << "pixel_values: must be [views, channels, height, width] with image_tiles, is [2,3,3,8,8]";
        QTest::newRow("tiles sum") << "tiles_sum" << "pixel_values: has 6 views, image_tiles adds up to 5";
        QTest::newRow("tiles past the views") << "tiles_more" << "pixel_values: has 2 views, image_tiles adds up to more";
        QTest::newRow("truncated file") << "truncated" << "";
    }
    void bad_files() {
        QFETCH(QString, name);
        QFETCH(QString, expected);
        const at::Tensor ids = at::ones({2, 4}, at::kLong), img = at::zeros({2, 3, 8, 8});
        const at::Tensor patches = at::zeros({12, 5}), grid = at::tensor({1, 2, 2, 1, 2, 2}, at::kLong).reshape({2, 3});
        const at::Tensor views = at::zeros({2, 3, 3, 8, 8}), sizes = at::tensor({37, 101, 20, 26}, at::kLong).reshape({2, 2});
        const at::Tensor tile_grid = at::tensor({1, 3, 1, 1}, at::kLong).reshape({2, 2});
        const std::map<QString, ps::NamedTensors> files = {
            {"no_ids", {{"attention_mask", ids}}},
            {"unknown", {{"input_ids", ids}, {"image", img}}},
            {"float_ids", {{"input_ids", ids.to(at::kFloat)}}},
            {"flat_ids", {{"input_ids", ids.reshape({8})}}},
            {"negative", {{"input_ids", ids.index_put({at::tensor(1), at::tensor(2)}, at::tensor(-3, at::kLong))}}},
            {"mask_shape", {{"input_ids", ids}, {"attention_mask", at::ones({2, 3}, at::kLong)}}},
            {"mask_value", {{"input_ids", ids}, {"attention_mask", ids * 2}}},
            {"float_labels", {{"input_ids", ids}, {"labels", ids.to(at::kFloat)}}},
            {"int_pixels", {{"input_ids", ids}, {"pixel_values", img.to(at::kLong)}}},
            {"pixel_rows", {{"input_ids", ids}, {"pixel_values", at::zeros({3, 3, 8, 8})}}},
            {"empty_image", {{"input_ids", ids}, {"pixel_values", at::zeros({2, 3, 0, 8})}}},
            {"grid_alone", {{"input_ids", ids}, {"image_grid_thw", grid}}},
            {"grid_shape", {{"input_ids", ids}, {"pixel_values", patches}, {"image_grid_thw", at::ones({2, 2}, at::kLong)}}},
            {"grid_zero", {{"input_ids", ids}, {"pixel_values", patches}, {"image_grid_thw", grid * at::tensor({1, 0}, at::kLong).reshape({2, 1})}}},
            {"grid_sum", {{"input_ids", ids}, {"pixel_values", patches}, {"image_grid_thw", grid}}},
            {"grid_large", {{"input_ids", ids}, {"pixel_values", patches}, {"image_grid_thw", grid * 1000000007}}},
            {"sizes_alone", {{"input_ids", ids}, {"image_sizes", sizes}}},
            {"sizes_grid", {{"input_ids", ids}, {"pixel_values", patches}, {"image_grid_thw", grid}, {"image_sizes", sizes}}},
            {"sizes_shape", {{"input_ids", ids}, {"pixel_values", views}, {"image_sizes", grid}}},
            {"size_zero", {{"input_ids", ids}, {"pixel_values", views}, {"image_sizes", sizes * at::tensor({1, 0}, at::kLong)}}},
            {"views_rank", {{"input_ids", ids}, {"pixel_values", img}, {"image_sizes", sizes}}},
            {"tiles_alone", {{"input_ids", ids}, {"image_tiles", tile_grid}}},
            {"tiles_sizes", {{"input_ids", ids}, {"pixel_values", img}, {"image_sizes", sizes}, {"image_tiles", tile_grid}}},
            {"tiles_shape", {{"input_ids", ids}, {"pixel_values", img}, {"image_tiles", grid}}},
            {"tiles_zero", {{"input_ids", ids}, {"pixel_values", img}, {"image_tiles", tile_grid * at::tensor({1, 0}, at::kLong).reshape({2, 1})}}},
            {"tiles_rank", {{"input_ids", ids}, {"pixel_values", views}, {"image_tiles", tile_grid}}},
            {"tiles_sum", {{"input_ids", ids}, {"pixel_values", at::zeros({6, 3, 8, 8})}, {"image_tiles", tile_grid}}},
            {"tiles_more", {{"input_ids", ids}, {"pixel_values", img}, {"image_tiles", tile_grid}}},
            {"truncated", {{"input_ids", ids}, {"pixel_values", img}}},
        };
        std::string path = save("bad-" + name + ".safetensors", files.at(name));
        if (name == "truncated") fs::resize_file(path, fs::file_size(path) - 9);
        const QString msg = ps_test::error_of([&] { ps::read_inputs_file(path); });
        qInfo("%s", qPrintable(msg));
        const QString want = QString::fromStdString(path) + ": " + expected;
        QVERIFY2(msg.startsWith(want) && msg.size() > want.size() - (expected.isEmpty() ? 0 : 1) && !msg.contains('\n'),
                 qPrintable("'" + msg + "', expected '" + want + "'"));
    }
};

QTEST_GUILESS_MAIN(TestInputsFile)
#include "test_inputs_file.moc"
