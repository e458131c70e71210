// Parity harness for the model families: tests/python/model_reference.py builds a tiny random
// model with transformers and records its outputs; the C++ model runs on the same inputs and every
// recorded tensor is compared.
#pragma once
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/io/tensor_view.h"
#include "core/model/vlm.h"
#include "tests/test_support.h"

namespace ps_test {

struct Reference {
    QString dir;
    std::map<std::string, at::Tensor> tensors;
    const at::Tensor& operator[](const std::string& k) const { return tensors.at(k); }
    bool has(const std::string& k) const { return tensors.count(k) > 0; }
};

// The tensors a reference script wrote to `dir`/reference.safetensors.
inline Reference read_reference(const QString& dir) {
    Reference r;
    r.dir = dir;
    auto f = ps::SafetensorsFile::open((dir + "/reference.safetensors").toStdString());
    for (const auto& info : f->tensors()) r.tensors[info.name] = ps::tensor_view(f, info).clone();
    return r;
}

// Runs model_reference.py into a fresh folder under `tmp`; an empty Reference when it failed.
inline Reference make_reference(const QTemporaryDir& tmp, const QString& family, const QStringList& args) {
    static int n = 0;
    const QString dir = tmp.filePath(QString("%1_%2").arg(family).arg(n++));
    auto run = run_python("model_reference.py", QStringList{dir, family} + args);
    if (run.exit_code != 0) {
        qWarning("%s", run.err.constData());
        return {};
    }
    return read_reference(dir);
}

// `script` DIR ARGS run into `tmp`/`name` unless that folder holds its reference already (tests
// whose slots share a reference model); the folder.
inline QString reference_folder(const QTemporaryDir& tmp, const char* script, const QString& name, const QStringList& args) {
    const QString dir = tmp.filePath(name);
    if (QFileInfo::exists(dir + "/reference.safetensors")) return dir;
    const auto run = run_python(script, QStringList{dir} + args);
    if (run.exit_code != 0) qWarning("%s", run.err.constData());
    return dir;
}

// Runs the generative reference `script` with `args` (the output folder first): the questions it
// prints as JSON on its last line. Fails the test with the script's errors (and gives null) when it
// fails; callers check QTest::currentTestFailed().
inline nlohmann::json reference_questions(const char* script, const QStringList& args) {
    const auto run = run_python(script, args);
    if (run.exit_code != 0) {
        QTest::qFail(run.err.constData(), __FILE__, __LINE__);
        return {};
    }
    return nlohmann::json::parse(run.out.trimmed().split('\n').last().toStdString());
}

// The model inputs the reference recorded under `prefix`: input_ids, and attention_mask,
// pixel_values, image_grid_thw and image_sizes where it has them.
inline ps::VlmInputs reference_inputs(const Reference& r, const std::string& prefix = "") {
    ps::VlmInputs in;
    for (auto [name, field] : {std::pair<const char*, at::Tensor ps::VlmInputs::*>{"input_ids", &ps::VlmInputs::input_ids},
                               {"attention_mask", &ps::VlmInputs::attention_mask},
                               {"pixel_values", &ps::VlmInputs::pixel_values},
                               {"image_grid_thw", &ps::VlmInputs::image_grid_thw},
                               {"image_sizes", &ps::VlmInputs::image_sizes}})
        if (r.has(prefix + name)) in.*field = r[prefix + name];
    return in;
}

// A tensor's values as int64 (token ids, grids, sizes), in row-major order.
inline std::vector<int64_t> ids_of(const at::Tensor& t) {
    const at::Tensor c = t.reshape({-1}).to(at::kLong).contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// max |got - want|, and that divided by max |want| (for reduced-precision comparisons).
inline std::pair<double, double> diff(const at::Tensor& got, const at::Tensor& want) {
    at::Tensor g = got.to(at::kCPU, at::kDouble), w = want.to(at::kCPU, at::kDouble);
    const double abs = (g - w).abs().max().item<double>();
    return {abs, abs / std::max(w.abs().max().item<double>(), 1e-12)};
}

// Compares one output; float32 within `abs_tol`, reduced precision within `rel_tol` of the range.
#define PS_COMPARE_TENSOR(got, want, name, reduced, abs_tol, rel_tol)                                     \
    do {                                                                                                  \
        QVERIFY2((got).defined(), (name).c_str());                                                        \
        QCOMPARE((got).sizes().vec(), (want).sizes().vec());                                              \
        const auto d_ = ps_test::diff((got), (want));                                                     \
        const bool ok_ = (reduced) ? d_.second <= (rel_tol) : d_.first <= (abs_tol);                      \
        QVERIFY2(ok_, qPrintable(QString("%1: max abs diff %2, relative %3").arg(QString::fromStdString(name)) \
                                     .arg(d_.first).arg(d_.second)));                                      \
    } while (0)

// One parity row for a dual encoder (CLIP, SigLIP, VisionTextDualEncoder): embeddings, both
// logits and every hidden state of both towers. Reports failures through QTest.
inline void dual_encoder_parity(const QTemporaryDir& tmp, const QString& family, const QString& dtype,
                                const QStringList& sizes, bool streaming) {
    const auto ref = make_reference(tmp, family, QStringList{"--dtype", dtype} + sizes);
    QVERIFY(!ref.dir.isEmpty());
    ps::LoadOptions opt;
    opt.dtype = dtype.toStdString();
    opt.streaming = streaming;
    auto model = ps::Vlm::load(ref.dir.toStdString(), opt);
    QCOMPARE(model->towers().size(), size_t(2));
    ps::CaptureOptions cap;
    cap.hidden_states = true;
    const ps::VlmOutputs out = model->forward(reference_inputs(ref), cap);
    const bool reduced = dtype != "float32";
    const std::pair<std::string, at::Tensor> outputs[] = {{"image_embeds", out.image_embeds},
                                                          {"text_embeds", out.text_embeds},
                                                          {"logits_per_image", out.logits_per_image},
                                                          {"logits_per_text", out.logits_per_text}};
    double worst = 0;
    for (const auto& [name, got] : outputs) {
        PS_COMPARE_TENSOR(got, ref[name], name, reduced, 1e-4, 2e-2);
        worst = std::max(worst, diff(got, ref[name]).first);
    }
    const char* names[] = {"vision", "text"};
    for (int t = 0; t < 2; ++t) {
        QCOMPARE(out.hidden_states[t].size(), size_t(model->towers()[t].num_blocks + 1));
        for (size_t i = 0; i < out.hidden_states[t].size(); ++i) {
            const std::string key = std::string(names[t]) + ".hidden." + std::to_string(i);
            PS_COMPARE_TENSOR(out.hidden_states[t][i], ref[key], key, reduced, 1e-4, 2e-2);
            worst = std::max(worst, diff(out.hidden_states[t][i], ref[key]).first);
        }
    }
    qInfo("%s %s%s: max abs diff over all outputs and hidden states %.3g", qPrintable(family), qPrintable(dtype),
          streaming ? " (streamed)" : "", worst);
}

}  // namespace ps_test
