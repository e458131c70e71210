// The default model as the build assembles it: transformers loads it and gives the same logits,
// the same pixel values, tokens and zero-shot predictions; its zero-shot accuracy on the 10k test
// images is the figure committed in resources; assembly refuses bad resources without writing.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include "core/data/fashion_mnist.h"
#include "core/data/prompts.h"
#include "core/error.h"
#include "core/eval/zero_shot.h"
#include "core/io/json_util.h"
#include "core/model/default_model.h"
#include "core/model/processor.h"
#include "tests/core/model_parity.h"

class TestDefaultModel : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    const std::string dir_ = PS_DEFAULT_MODEL;

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void shape_of_the_default() {
        auto model = ps::Vlm::load(dir_);
        QCOMPARE(model->map().family, std::string("vision-text-dual-encoder"));
        QCOMPARE(model->towers().size(), size_t(2));
        QVERIFY(model->towers()[0].num_blocks >= 4);
        QCOMPARE(model->towers()[1].num_blocks, 6);  // all of MiniLM-L6
    }

    void transformers_gives_the_same_outputs() {
        const QString out = tmp_.filePath("reference");
        const auto run = ps_test::run_python("default_reference.py",
                                             {out, QString::fromStdString(dir_), QString::fromStdString(ps::fashion_mnist_dir()), "32", "1000"});
        QVERIFY2(run.exit_code == 0, run.err.constData());
        std::map<std::string, at::Tensor> ref;
        for (auto& [k, v] : ps::load_safetensors((out + "/reference.safetensors").toStdString())) ref[k] = v.clone();

        auto model = ps::Vlm::load(dir_);
        const ps::Processor processor(*model);
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        ps::VlmInputs in = processor.texts(ps::class_prompts(test.classes, ps::zero_shot_templates()));
        QVERIFY(at::equal(in.input_ids, ref["input_ids"]));
        in.pixel_values = ps::preprocess_gray_batch(test.images.slice(0, 0, 32), processor.image_config());
        PS_COMPARE_TENSOR(in.pixel_values, ref["pixel_values"], std::string("pixel_values"), false, 1e-6, 0.0);
        const ps::VlmOutputs o = model->forward(in);
        PS_COMPARE_TENSOR(o.logits_per_image, ref["logits_per_image"], std::string("logits_per_image"), false, 1e-4, 0.0);
        qInfo("logits_per_image max abs diff vs transformers %.3g", ps_test::diff(o.logits_per_image, ref["logits_per_image"]).first);

        const ps::DualEncoderEncoder enc(*model);
        const ps::LabelledImages first{test.images.slice(0, 0, 1000), test.labels.slice(0, 0, 1000), test.classes};
        const ps::EvalSet set = ps::labelled_eval_set("first 1000", first, processor.image_config(), ps::zero_shot_templates());
        const at::Tensor pred = at::matmul(enc.images(set, 256, {}, "test"), enc.classes(test.classes, ps::zero_shot_templates()).t()).argmax(1);
        const int64_t differ = (pred != ref["predictions"]).sum().item<int64_t>();
        QVERIFY2(differ == 0, qPrintable(QString("%1 of 1000 zero-shot predictions differ from transformers'").arg(differ)));
    }

    void accuracy_is_the_committed_figure() {
        const nlohmann::json manifest = ps::read_json_file(ps::default_model_resources_dir() + "/manifest.json");
        const double committed = manifest["metrics"]["zero_shot_top1"].get<double>();
        QCOMPARE(manifest["metrics"]["eval_images"].get<int64_t>(), int64_t(10000));
        auto model = ps::Vlm::load(dir_);
        const ps::Processor processor(*model);
        const ps::EvalSet set = ps::labelled_eval_set("test", ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test"),
                                                      processor.image_config(), ps::zero_shot_templates());
        const ps::EvalResult r = ps::zero_shot(*model, set, {}, {});
        qInfo("zero-shot top-1 on 10k test images: %.2f%% (committed %.2f%%)", r.value(), committed);
        QVERIFY2(std::abs(r.value() - committed) <= 0.1, qPrintable(QString("%1 vs %2").arg(r.value()).arg(committed)));
        QVERIFY(committed >= 85.0);
        QCOMPARE(r.per_class.size(), size_t(10));
        double total = 0;
        for (const auto& row : r.per_class) {
            QCOMPARE(row.count, int64_t(1000));
            total += row.values[0];
        }
        QVERIFY(std::abs(total / 10 - r.value()) < 1e-9);
    }

    void bad_resources_are_refused_and_nothing_is_written() {
        namespace fs = std::filesystem;
        const std::string res = tmp_.filePath("res").toStdString(), target = tmp_.filePath("out").toStdString();
        fs::create_directories(res);
        const std::string tower = ps::default_text_tower_dir();
        auto expect = [&](const std::string& needle) {
            try {
                ps::assemble_default_model(res, tower, target);
                QFAIL("no error");
            } catch (const ps::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(needle)), e.what());
            }
            QVERIFY(!fs::exists(target));
        };
        expect(res + "/manifest.json");  // missing manifest
        fs::copy_file(ps::default_model_resources_dir() + "/manifest.json", res + "/manifest.json");
        expect(res + "/vision.safetensors");  // missing tensors
        ps::NamedTensors partial = ps::init_default_trainables(ps::DefaultModelSpec{}, 0);
        partial.pop_back();
        ps::save_safetensors(res + "/vision.safetensors", partial);
        expect("tensors, the spec needs");
        ps::save_safetensors(res + "/vision.safetensors", ps::init_default_trainables(ps::DefaultModelSpec{}, 0));
        try {
            ps::assemble_default_model(res, tmp_.filePath("no-tower").toStdString(), target);
            QFAIL("no error");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).contains("text tower folder not found"), e.what());
        }
        QVERIFY(!fs::exists(target));
        fs::create_directories(target);  // an existing folder is never overwritten
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::assemble_default_model(res, tower, target));
        QVERIFY(fs::is_empty(target));
    }
};

QTEST_APPLESS_MAIN(TestDefaultModel)
#include "test_default_model.moc"
