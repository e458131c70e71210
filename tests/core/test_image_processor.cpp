// core/data/image_processor.cpp and core/data/resample.cpp: pixel_values equal those of
// transformers' CLIP / SigLIP / ViT image processors, the resampler equals PIL.Image.resize, and
// malformed preprocessor_config.json files fail with one line naming the file and field.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/image.h"
#include "core/data/image_processor.h"
#include "core/data/resample.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_view.h"
#include "tests/test_support.h"

namespace {

// One uint8 level after rescale and normalize: the largest error a one-level slip can cause.
double one_level(const ps::ImageProcessorConfig& cfg) {
    const double scale = cfg.do_rescale ? cfg.rescale_factor : 1.0;
    if (!cfg.do_normalize) return scale;
    double min_std = 1e300;
    for (double s : cfg.image_std) min_std = std::min(min_std, std::abs(s));
    return scale / min_std;
}

QString config_error(const QString& path) {
    return ps_test::error_of([&] { ps::read_image_processor_config(path.toStdString()); });
}

}  // namespace

class TestImageProcessor : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString ref_;

private Q_SLOTS:
    void initTestCase() {
        ref_ = tmp_.filePath("ref");
        for (const char* what : {"processors", "resample"}) {
            const auto r = ps_test::run_python("image_reference.py", {what, ref_});
            QVERIFY2(r.exit_code == 0, r.err.constData());
        }
    }

    void resampler_matches_pil() {
        auto file = ps::SafetensorsFile::open((ref_ + "/resample.safetensors").toStdString());
        const auto entries = nlohmann::json::parse(ps_test::read_bytes(ref_ + "/resample.json").toStdString());
        QVERIFY(entries.size() >= 80);
        int exact = 0;
        for (const auto& e : entries) {
            const at::Tensor in = ps::tensor_view(file, *file->find(e["input"].get<std::string>()));
            const at::Tensor expected = ps::tensor_view(file, *file->find(e["output"].get<std::string>()));
            const int ch = static_cast<int>(in.size(2));
            const cv::Mat src(static_cast<int>(in.size(0)), static_cast<int>(in.size(1)), CV_8UC(ch), in.data_ptr());
            const cv::Mat out = ps::pil_resize(src, e["width"].get<int>(), e["height"].get<int>(),
                                               static_cast<ps::ResampleFilter>(e["filter"].get<int>()));
            QCOMPARE(std::vector<int64_t>({out.rows, out.cols, out.channels()}), expected.sizes().vec());
            const at::Tensor got = at::from_blob(out.data, {out.rows, out.cols, ch}, at::kByte);
            const int diff = (got.to(at::kInt) - expected.to(at::kInt)).abs().max().item<int>();
            QVERIFY2(diff == 0, qPrintable(QString("%1 -> %2x%3 %4: max |diff| %5")
                                               .arg(e["input"].get<std::string>().c_str())
                                               .arg(e["width"].get<int>())
                                               .arg(e["height"].get<int>())
                                               .arg(ps::resample_filter_name(e["filter"].get<int>()))
                                               .arg(diff)));
            ++exact;
        }
        qInfo("pil_resize: %d of %zu resizes bit-identical to PIL.Image.resize", exact, entries.size());
    }

    void matches_transformers_processors() {
        auto file = ps::SafetensorsFile::open((ref_ + "/expected.safetensors").toStdString());
        const auto cases = nlohmann::json::parse(ps_test::read_bytes(ref_ + "/cases.json").toStdString());
        QVERIFY(cases["cases"].size() >= 9);
        for (const auto& c : cases["cases"]) {
            const std::string name = c;
            const ps::ImageProcessorConfig cfg = ps::read_image_processor_config((ref_ + "/" + name.c_str()).toStdString());
            const double tol = one_level(cfg);
            double worst = 0.0;
            for (const auto& image : cases["images"]) {
                const std::string key = name + "/" + image.get<std::string>();
                const at::Tensor expected = ps::tensor_view(file, *file->find(key));
                const cv::Mat rgb = ps::load_image((ref_ + "/" + image.get<std::string>().c_str() + ".png").toStdString());
                const at::Tensor got = ps::preprocess(rgb, cfg);
                QVERIFY2(got.sizes() == expected.sizes(), key.c_str());
                const double diff = (got - expected).abs().max().item<double>();
                QVERIFY2(diff <= tol * 1.0001, qPrintable(QString("%1: max |diff| %2 > %3").arg(key.c_str()).arg(diff).arg(tol)));
                worst = std::max(worst, diff);
            }
            qInfo("%-16s %-22s max |diff| %.3g over %zu images (one uint8 level = %.4g)", name.c_str(),
                  cfg.type.c_str(), worst, cases["images"].size(), tol);
        }
    }

    void batch_stacks_images() {
        const ps::ImageProcessorConfig cfg = ps::read_image_processor_config((ref_ + "/clip").toStdString());
        std::vector<cv::Mat> images;
        std::vector<at::Tensor> one_by_one;
        for (const char* name : {"noise_317x211", "gradient_64x480", "small_150x100"}) {
            images.push_back(ps::load_image((ref_ + "/" + name + ".png").toStdString()));
            one_by_one.push_back(ps::preprocess(images.back(), cfg));
        }
        const at::Tensor batch = ps::preprocess_batch(images, cfg);
        QCOMPARE(batch.sizes().vec(), std::vector<int64_t>({3, 3, 224, 224}));
        QVERIFY(at::equal(batch, at::stack(one_by_one)));

        ps::ImageProcessorConfig no_crop = cfg;
        no_crop.do_center_crop = false;  // shortest-edge resizing keeps each aspect ratio
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::preprocess_batch(images, no_crop));
    }

    // Grey [N, H, W] batches equal preprocess() of the same images as RGB, on the tensor path (no
    // size change) and the per-image path (resize or crop).
    void gray_batch_equals_preprocess() {
        at::manual_seed(7);
        struct Case {
            const char* what;
            ps::ImageProcessorConfig cfg;
            int h, w;
            std::vector<int64_t> out;  // [3, h', w'] expected
        };
        std::vector<Case> cases;
        ps::ImageProcessorConfig vit = ps::image_processor_defaults("ViTImageProcessor");
        vit.height = 28;
        vit.width = 28;
        cases.push_back({"vit 28x28, same size", vit, 28, 28, {3, 28, 28}});
        ps::ImageProcessorConfig clip = ps::image_processor_defaults("CLIPImageProcessor");
        clip.shortest_edge = 28;
        clip.crop_height = clip.crop_width = 28;
        cases.push_back({"clip edge 28 + crop 28, same size", clip, 28, 28, {3, 28, 28}});
        ps::ImageProcessorConfig plain = vit;
        plain.do_resize = false;
        plain.do_normalize = false;
        cases.push_back({"no resize, rescale only", plain, 20, 28, {3, 20, 28}});
        plain.do_rescale = false;
        cases.push_back({"no resize, no rescale", plain, 20, 28, {3, 20, 28}});
        ps::ImageProcessorConfig odd = vit;
        odd.do_resize = false;
        odd.rescale_factor = 1.0 / 7;
        odd.image_mean = {0.1, 0.7, 0.33333};
        odd.image_std = {0.3, 0.017, 2.5};
        cases.push_back({"odd rescale, mean and std", odd, 13, 9, {3, 13, 9}});
        cases.push_back({"clip defaults, resize + crop", ps::image_processor_defaults("CLIPImageProcessor"), 28, 28,
                         {3, 224, 224}});
        ps::ImageProcessorConfig vit_up = vit;
        vit_up.height = 40;
        cases.push_back({"vit 40x28, resize", vit_up, 28, 28, {3, 40, 28}});
        ps::ImageProcessorConfig crop = vit;
        crop.do_resize = false;
        crop.do_center_crop = true;
        crop.crop_height = 20;
        crop.crop_width = 32;  // cut rows, pad columns
        cases.push_back({"no resize, crop 20x32", crop, 28, 28, {3, 20, 32}});

        for (const Case& c : cases) {
            const int64_t n = 5;
            at::Tensor gray = at::randint(0, 256, {n, c.h, c.w}, at::kByte);
            gray[0].fill_(0);
            gray[1].fill_(255);
            const at::Tensor got = ps::preprocess_gray_batch(gray, c.cfg);
            std::vector<int64_t> shape{n};
            shape.insert(shape.end(), c.out.begin(), c.out.end());
            QVERIFY2(got.sizes().vec() == shape, c.what);
            QCOMPARE(got.scalar_type(), at::kFloat);
            for (int64_t i = 0; i < n; ++i) {
                const at::Tensor plane = gray[i].contiguous();
                const cv::Mat g(c.h, c.w, CV_8UC1, plane.data_ptr<uint8_t>());
                cv::Mat rgb;
                cv::cvtColor(g, rgb, cv::COLOR_GRAY2RGB);
                const at::Tensor expected = ps::preprocess(rgb, c.cfg);
                QVERIFY2(at::equal(got[i], expected),
                         qPrintable(QString("%1, image %2: max |diff| %3")
                                        .arg(c.what)
                                        .arg(i)
                                        .arg((got[i] - expected).abs().max().item<double>())));
            }
        }

        // a batch the tensor path processes in several slices (16 images of 512x512 per slice)
        ps::ImageProcessorConfig big = vit;
        big.height = big.width = 512;
        const at::Tensor many = at::randint(0, 256, {40, 512, 512}, at::kByte);
        const at::Tensor got = ps::preprocess_gray_batch(many, big);
        QCOMPARE(got.sizes().vec(), std::vector<int64_t>({40, 3, 512, 512}));
        for (int64_t i : {0, 15, 16, 31, 32, 39}) {
            const at::Tensor plane = many[i].contiguous();
            cv::Mat rgb;
            cv::cvtColor(cv::Mat(512, 512, CV_8UC1, plane.data_ptr<uint8_t>()), rgb, cv::COLOR_GRAY2RGB);
            QVERIFY2(at::equal(got[i], ps::preprocess(rgb, big)), qPrintable(QString("image %1 of 40").arg(i)));
        }

        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::preprocess_gray_batch(at::zeros({2, 28, 28}, at::kFloat), vit));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::preprocess_gray_batch(at::zeros({28, 28}, at::kByte), vit));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::preprocess_gray_batch(at::zeros({0, 28, 28}, at::kByte), vit));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::preprocess_gray_batch(at::Tensor(), vit));
    }

    void output_size_follows_transformers() {
        ps::ImageProcessorConfig cfg = ps::image_processor_defaults("CLIPImageProcessor");
        // int(224 * long / short), truncated; the short side may be either one
        QCOMPARE(ps::resized_size(211, 317, cfg), (std::array<int, 2>{224, 336}));
        QCOMPARE(ps::resized_size(480, 64, cfg), (std::array<int, 2>{1680, 224}));
        QCOMPARE(ps::resized_size(300, 299, cfg), (std::array<int, 2>{224, 224}));
        QCOMPARE(ps::resized_size(299, 300, cfg), (std::array<int, 2>{224, 224}));
        QCOMPARE(ps::resized_size(7, 3, cfg), (std::array<int, 2>{522, 224}));
        cfg = ps::image_processor_defaults("SiglipImageProcessor");
        QCOMPARE(ps::resized_size(211, 317, cfg), (std::array<int, 2>{224, 224}));

        // Qwen2-VL's smart_resize (the values transformers' smart_resize gives): sides rounded half
        // to even to multiples of 28, scaled into [min_pixels, max_pixels] keeping the aspect ratio.
        cfg = ps::image_processor_defaults("Qwen2VLImageProcessor");
        const std::pair<std::array<int, 2>, std::array<int, 2>> sizes[] = {
            {{42, 70}, {56, 56}},     {{98, 154}, {112, 168}},   {{300, 200}, {308, 196}},
            {{20, 30}, {56, 84}},     {{1080, 1920}, {728, 1316}}, {{28, 28}, {56, 56}}};
        for (const auto& [in, want] : sizes) QCOMPARE(ps::resized_size(in[0], in[1], cfg), want);
        cfg.min_pixels = 28 * 28 * 4;
        cfg.max_pixels = 28 * 28 * 24;
        QCOMPARE(ps::resized_size(300, 200, cfg), (std::array<int, 2>{168, 112}));
        QCOMPARE(ps::resized_size(1080, 1920, cfg), (std::array<int, 2>{84, 168}));
        QVERIFY(ps_test::error_of([&] { ps::resized_size(10, 2500, cfg); }).contains("at most 200 times"));
        // Its patches: the flattened order of Qwen2VLImageProcessor, checked on a ramp.
        std::array<int64_t, 3> grid{};
        const at::Tensor ramp = at::arange(3 * 56 * 84, at::kFloat).view({3, 56, 84});
        const at::Tensor patches = ps::image_patches(ramp, cfg, grid);
        QCOMPARE(grid, (std::array<int64_t, 3>{1, 4, 6}));
        QCOMPARE(patches.sizes().vec(), (std::vector<int64_t>{24, 3 * 2 * 14 * 14}));
        // Patch 3 is the second row of the first 2 x 2 group, its right half: rows 14-27, columns 14-27.
        const at::Tensor want = ramp.slice(1, 14, 28).slice(2, 14, 28).unsqueeze(1).expand({3, 2, 14, 14}).reshape({-1});
        QVERIFY(patches[3].equal(want));
        QVERIFY(ps_test::error_of([&] { ps::image_patches(at::zeros({3, 56, 70}), cfg, grid); }).contains("70x56"));
    }

    void defaults_per_processor_type() {
        const QString dir = tmp_.filePath("defaults");
        QVERIFY(QDir().mkpath(dir));
        const QString path = dir + "/preprocessor_config.json";
        ps_test::write_bytes(path, R"({"image_processor_type": "ViTImageProcessor"})");
        const ps::ImageProcessorConfig vit = ps::read_image_processor_config(dir.toStdString());
        QCOMPARE(vit.resample, ps::ResampleFilter::Bilinear);
        QCOMPARE(vit.height, 224);
        QCOMPARE(vit.shortest_edge, 0);
        QVERIFY(!vit.do_center_crop);
        QCOMPARE(vit.image_std[2], 0.5);

        const ps::ImageProcessorConfig clip = ps::image_processor_defaults("CLIPImageProcessorFast");
        QCOMPARE(clip.shortest_edge, 224);
        QVERIFY(clip.do_center_crop);
        QCOMPARE(clip.resample, ps::ResampleFilter::Bicubic);
        QCOMPARE(clip.image_mean[0], 0.48145466);
        QCOMPARE(ps::image_processor_defaults("SiglipImageProcessor").resample, ps::ResampleFilter::Bicubic);
        QVERIFY(ps::image_processor_defaults("Qwen2VLImageProcessor").native_resolution);
        const ps::ImageProcessorConfig next = ps::image_processor_defaults("LlavaNextImageProcessor");
        QCOMPARE(next.grid_pinpoints.size(), size_t{5});
        QCOMPARE(next.grid_pinpoints[3], (std::array<int, 2>{1008, 336}));
        QCOMPARE(next.crop_height, 224);
        QCOMPARE(next.tile, 224);
        const ps::ImageProcessorConfig onevision = ps::image_processor_defaults("LlavaOnevisionImageProcessor");
        QCOMPARE(onevision.grid_pinpoints.size(), size_t{36});  // 1x1 to 6x6 tiles of 384 pixels
        QCOMPARE(onevision.grid_pinpoints[7], (std::array<int, 2>{768, 768}));
        QCOMPARE(onevision.tile, 384);
        QCOMPARE(onevision.shortest_edge, 0);
        QVERIFY(!onevision.do_center_crop);
        const ps::ImageProcessorConfig smolvlm = ps::image_processor_defaults("SmolVLMImageProcessor");
        QCOMPARE(smolvlm.longest_edge, 4 * 364);
        QCOMPARE(smolvlm.max_image_size, 364);
        QVERIFY(smolvlm.do_image_splitting && smolvlm.cuts_tiles());
        QCOMPARE(smolvlm.resample, ps::ResampleFilter::Lanczos);
        const ps::ImageProcessorConfig gemma3 = ps::image_processor_defaults("Gemma3ImageProcessor");
        QCOMPARE(gemma3.height, 224);
        QCOMPARE(gemma3.resample, ps::ResampleFilter::Bilinear);
        QCOMPARE(gemma3.image_mean[1], 0.5);
        QVERIFY(!gemma3.cuts_tiles());
        const ps::ImageProcessorConfig blip = ps::image_processor_defaults("BlipImageProcessor");
        QCOMPARE(blip.height, 384);
        QCOMPARE(blip.resample, ps::ResampleFilter::Bicubic);
        QCOMPARE(blip.image_std[0], 0.26862954);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::image_processor_defaults("PaliGemmaImageProcessor"));
    }

    void malformed_configs_name_file_and_field() {
        const QList<QPair<QByteArray, QString>> bad{
            {"{", "not valid JSON"},
            {"[1, 2]", "expected a JSON object"},
            {"{}", "field 'image_processor_type': missing"},
            {R"({"image_processor_type": "PaliGemmaImageProcessor"})", "field 'image_processor_type': unsupported"},
            {R"({"image_processor_type": "Gemma3ImageProcessor", "do_pan_and_scan": true})", "field 'do_pan_and_scan'"},
            {R"({"image_processor_type": "Idefics3ImageProcessor", "size": {"height": 364, "width": 364}})", "field 'size'"},
            {R"({"image_processor_type": "Idefics3ImageProcessor", "max_image_size": {"longest_edge": 0}})",
             "field 'max_image_size.longest_edge'"},
            {R"({"image_processor_type": "SmolVLMImageProcessor", "size": {"longest_edge": 5000}})", "field 'size'"},
            {R"({"image_processor_type": "SmolVLMImageProcessor", "do_image_splitting": 1})", "field 'do_image_splitting'"},
            {R"({"image_processor_type": "Qwen2VLImageProcessor", "size": {"shortest_edge": 3136}})", "field 'size'"},
            {R"({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": -4})", "field 'min_pixels'"},
            {R"({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 9000, "max_pixels": 8000})", "field 'min_pixels'"},
            {R"({"image_processor_type": "Qwen2VLImageProcessor", "merge_size": 0})", "field 'merge_size'"},
            {R"({"image_processor_type": "LlavaNextImageProcessor", "image_grid_pinpoints": []})", "field 'image_grid_pinpoints'"},
            {R"({"image_processor_type": "LlavaNextImageProcessor", "image_grid_pinpoints": [[336, 672], [672]]})",
             "field 'image_grid_pinpoints[1]'"},
            {R"({"image_processor_type": "LlavaNextImageProcessor", "image_grid_pinpoints": [[336, -672]]})",
             "field 'image_grid_pinpoints[0][1]'"},
            {R"({"image_processor_type": "LlavaNextImageProcessor", "image_grid_pinpoints": [[336, 9000]]})",
             "field 'image_grid_pinpoints[0]'"},
            {R"({"image_processor_type": "LlavaOnevisionImageProcessor", "size": {"shortest_edge": 384}})", "field 'size'"},
            {R"({"image_processor_type": "LlavaOnevisionImageProcessor", "image_grid_pinpoints": [[384, 768], "big"]})",
             "field 'image_grid_pinpoints[1]'"},
            {R"({"image_processor_type": 7})", "field 'image_processor_type'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "size": {"width": 3}})", "field 'size'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "size": "big"})", "field 'size'"},
            {R"({"image_processor_type": "SiglipImageProcessor", "size": {"shortest_edge": 224}})", "field 'size'"},
            {R"({"image_processor_type": "ViTImageProcessor", "size": {"height": 0, "width": 9}})", "field 'size.height'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 2.5, "width": 9}})",
             "field 'crop_size.height'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "resample": 0})", "field 'resample'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "resample": "bicubic"})", "field 'resample'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5]})", "field 'image_mean'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "image_std": [0.5, 0, 0.5]})", "field 'image_std'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "do_resize": "yes"})", "field 'do_resize'"},
            {R"({"image_processor_type": "CLIPImageProcessor", "rescale_factor": [1]})", "field 'rescale_factor'"},
        };
        int i = 0;
        for (const auto& [text, expected] : bad) {
            const QString path = tmp_.filePath(QString("bad%1.json").arg(i++));
            ps_test::write_bytes(path, text);
            const QString msg = config_error(path);
            qInfo("%s", qPrintable(msg));
            QVERIFY2(msg.startsWith(path + ": ") && msg.contains(expected) && !msg.contains('\n'),
                     qPrintable(QString(text) + " -> " + msg));
        }
        const QString empty_dir = tmp_.filePath("no_config");
        QVERIFY(QDir().mkpath(empty_dir));
        QVERIFY(config_error(empty_dir).startsWith(empty_dir + "/preprocessor_config.json: "));
    }
};

QTEST_GUILESS_MAIN(TestImageProcessor)
#include "test_image_processor.moc"
