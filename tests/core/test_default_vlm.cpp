// The generative default the build assembles (build/default-vlm) against transformers: it reloads
// as LlavaForConditionalGeneration with its processor and chat template, and gives the same prompt
// ids and the same greedy answer tokens as our engine for 20 test images. Pruning it end to end:
// Wanda at 50 % and 2:4 on the language model, streamed and resident giving the same masks; the
// pruned folder reloads in transformers with the sparsity written and the same logits. The projector
// trainer on it: seeded runs give the same losses, a cancelled run resumes to the same losses.
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/imgproc.hpp>

#include "core/data/fashion_mnist.h"
#include "core/io/json_util.h"
#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"
#include "core/train/projector_trainer.h"
#include "tests/core/tensor_compare.h"
#include "tests/test_support.h"

namespace {

cv::Mat test_image(const ps::LabelledImages& set, int64_t i) {
    const at::Tensor img = set.images[i].contiguous();
    cv::Mat gray(28, 28, CV_8UC1, img.data_ptr<uint8_t>()), rgb;
    cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
    return rgb;
}

std::vector<int64_t> ids_of(const at::Tensor& t) {
    const at::Tensor c = t.contiguous().to(at::kLong);
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

std::map<std::string, at::Tensor> by_name(const ps::NamedTensors& tensors) {
    std::map<std::string, at::Tensor> m;
    for (const auto& [n, t] : tensors) m[n] = t;
    return m;
}

}  // namespace

class TestDefaultVlm : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    ps::LabelledImages test_ = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
    const QString question_ = "What is the item in this image?";

    bool reference(const QStringList& args) {
        const auto r = ps_test::run_python("default_vlm_reference.py", args, 600000);
        if (r.exit_code != 0) qWarning("%s", r.err.constData());
        return r.exit_code == 0;
    }

    ps::Plan wanda(const std::string& pattern, bool streaming) const {
        ps::Plan p;
        p.model = PS_DEFAULT_VLM;
        p.method = "wanda";
        p.pattern = pattern;
        p.sparsity = 0.5;
        p.targets = {"model\\.language_model\\..*"};
        p.streaming = streaming;
        p.calibration.samples = 8;
        p.calibration.batch_size = 8;
        return p;
    }

private Q_SLOTS:
    void logits_as_transformers() {
        const QString out = tmp_.filePath("dense-logits");
        QVERIFY(reference({"logits", PS_DEFAULT_VLM, out}));
        const auto ref = by_name(ps::load_safetensors((out + "/logits.safetensors").toStdString()));
        const auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        ps::VlmInputs in;
        in.input_ids = ref.at("input_ids").to(at::kLong).unsqueeze(0);
        in.pixel_values = ref.at("pixel_values");
        const ps::VlmOutputs got = model->forward(in);
        const double diff = ps_test::max_abs_diff(got.logits[0], ref.at("logits"));
        qInfo("default: max |ours - transformers| logits %.3g", diff);
        QVERIFY2(diff <= 1e-4, qPrintable(QString::number(diff)));
    }

    void answers_as_transformers() {
        const QString out = tmp_.filePath("answers");
        QVERIFY(reference({"answers", PS_DEFAULT_VLM, out, "20"}));
        const nlohmann::json ref = ps::read_json_file((out + "/answers.json").toStdString());
        QCOMPARE(ref.at("cases").size(), size_t(20));
        const auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const ps::Processor processor(*model);
        const auto* causal = dynamic_cast<const ps::CausalVlm*>(model.get());
        QVERIFY(causal);
        int named = 0;
        for (int64_t i = 0; i < 20; ++i) {
            const auto& c = ref["cases"][i];
            const ps::VlmInputs in = processor.chat(test_image(test_, i), question_.toStdString());
            QCOMPARE(ids_of(in.input_ids), c.at("input_ids").get<std::vector<int64_t>>());
            const auto ours = causal->generate(in, 8, processor.tokenizer().eos_id());
            QVERIFY2(ours == c.at("generated").get<std::vector<int64_t>>(),
                     qPrintable(QString("image %1: ours \"%2\", transformers \"%3\"")
                                    .arg(i)
                                    .arg(QString::fromStdString(processor.tokenizer().decode(ours)))
                                    .arg(QString::fromStdString(c.at("text").get<std::string>()))));
            named += !c.at("text").get<std::string>().empty();
        }
        QCOMPARE(named, 20);
    }

    void pruned_language_model_reloads_in_transformers() {
        // Wanda 50 %: streamed and resident runs give the same masks.
        const std::string resident = tmp_.filePath("wanda").toStdString(), streamed = tmp_.filePath("wanda-streamed").toStdString();
        ps::run_prune(wanda("unstructured", false), resident, {});
        ps::run_prune(wanda("unstructured", true), streamed, {});
        const auto masks = by_name(ps::load_safetensors(resident + "/masks.safetensors"));
        const auto masks_streamed = by_name(ps::load_safetensors(streamed + "/masks.safetensors"));
        QCOMPARE(masks.size(), size_t(30 * 7));  // every Linear of SmolLM2's 30 blocks
        QCOMPARE(masks_streamed.size(), masks.size());
        for (const auto& [name, m] : masks) {
            QVERIFY2(name.find("language_model") != std::string::npos, name.c_str());
            QVERIFY2(at::equal(m, masks_streamed.at(name)), name.c_str());
        }

        // The pruned folder in transformers: the zeros are there, and its logits are ours.
        const QString out = tmp_.filePath("wanda-logits");
        QVERIFY(reference({"logits", QString::fromStdString(resident), out}));
        const nlohmann::json sparsity = ps::read_json_file((out + "/sparsity.json").toStdString());
        QCOMPARE(sparsity.size(), size_t(30 * 7));
        for (const auto& [name, s] : sparsity.items()) QVERIFY2(s.get<double>() >= 0.5 - 1e-3, name.c_str());
        const auto ref = by_name(ps::load_safetensors((out + "/logits.safetensors").toStdString()));
        const auto pruned = ps::Vlm::load(resident);
        ps::VlmInputs in;
        in.input_ids = ref.at("input_ids").to(at::kLong).unsqueeze(0);
        in.pixel_values = ref.at("pixel_values");
        const double diff = ps_test::max_abs_diff(pruned->forward(in).logits[0], ref.at("logits"));
        qInfo("pruned default: max |ours - transformers| logits %.3g", diff);
        QVERIFY2(diff <= 1e-4, qPrintable(QString::number(diff)));

        // 2:4: at least two of every group of four weights of a row pruned.
        const std::string nm = tmp_.filePath("wanda-2-4").toStdString();
        ps::run_prune(wanda("2:4", false), nm, {});
        const auto masks_nm = by_name(ps::load_safetensors(nm + "/masks.safetensors"));
        QCOMPARE(masks_nm.size(), size_t(30 * 7));
        for (const auto& [name, m] : masks_nm) {
            const at::Tensor pruned = m.to(at::kBool).reshape({m.size(0), -1, 4}).sum(-1);
            QVERIFY2(pruned.min().item<int64_t>() >= 2, name.c_str());
        }
    }

    void projector_training_is_seeded_and_resumable() {
        const ps::LabelledImages train = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "train");
        ps::ProjectorTrainingOptions opt;
        opt.steps = 4;
        opt.batch_size = 2;
        opt.warmup_steps = 1;
        opt.seed = 3;
        auto run = [&](const std::string& state, const ps::JobControl& job) {
            auto model = ps::Vlm::load(PS_DEFAULT_VLM);
            ps::ProjectorTrainingOptions o = opt;
            o.state_path = state;
            o.save_every = 100;
            return ps::train_projector(*model, train, o, job);
        };
        const ps::ProjectorTrainingResult a = run("", {}), b = run("", {});
        QCOMPARE(a.losses.size(), size_t(4));
        QCOMPARE(a.losses, b.losses);  // bit for bit
        QCOMPARE(a.trained.size(), size_t(4));

        const std::string state = tmp_.filePath("projector-state.safetensors").toStdString();
        ps::JobControl job;
        job.on_progress = [&job](const ps::Progress& p) {
            if (p.done == 2) job.cancel();
        };
        bool cancelled = false;
        try {
            run(state, job);
        } catch (const ps::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        const ps::ProjectorTrainingResult resumed = run(state, {});
        QCOMPARE(resumed.resumed_from, int64_t(2));
        QCOMPARE(resumed.losses, std::vector<double>(a.losses.begin() + 2, a.losses.end()));
        for (size_t i = 0; i < a.trained.size(); ++i) QVERIFY(at::equal(a.trained[i].second, resumed.trained[i].second));
    }
};

QTEST_GUILESS_MAIN(TestDefaultVlm)
#include "test_default_vlm.moc"
