// core/data/image_processor.cpp and core/data/resample.cpp: pixel_values equal those of
// transformers' CLIP / SigLIP / ViT image processors, the resampler equals PIL.Image.resize, and
// malformed preprocessor_config.json files fail with one line naming the file and field.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#include <nlohmann/json.hpp>

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
    try {
        ps::read_image_processor_config(path.toStdString());
    } catch (const ps::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
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
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::image_processor_defaults("Qwen2VLImageProcessor"));
    }

    void malformed_configs_name_file_and_field() {
        const QList<QPair<QByteArray, QString>> bad{
            {"{", "not valid JSON"},
            {"[1, 2]", "expected a JSON object"},
            {"{}", "field 'image_processor_type': missing"},
            {R"({"image_processor_type": "Qwen2VLImageProcessor"})", "field 'image_processor_type': unsupported"},
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
