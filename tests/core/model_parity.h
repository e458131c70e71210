// Parity harness for the model families: tests/python/model_reference.py builds a tiny random
// model with transformers and records its outputs; the C++ model runs on the same inputs and every
// recorded tensor is compared.
#pragma once
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

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

// Runs model_reference.py into a fresh folder under `tmp`; an empty Reference when it failed.
inline Reference make_reference(const QTemporaryDir& tmp, const QString& family, const QStringList& args) {
    static int n = 0;
    Reference r;
    r.dir = tmp.filePath(QString("%1_%2").arg(family).arg(n++));
    auto run = run_python("model_reference.py", QStringList{r.dir, family} + args);
    if (run.exit_code != 0) {
        qWarning("%s", run.err.constData());
        return {};
    }
    auto f = ps::SafetensorsFile::open((r.dir + "/reference.safetensors").toStdString());
    for (const auto& info : f->tensors()) r.tensors[info.name] = ps::tensor_view(f, info).clone();
    return r;
}

inline ps::VlmInputs reference_inputs(const Reference& r) {
    ps::VlmInputs in;
    if (r.has("pixel_values")) in.pixel_values = r["pixel_values"];
    if (r.has("input_ids")) in.input_ids = r["input_ids"];
    if (r.has("attention_mask")) in.attention_mask = r["attention_mask"];
    return in;
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
