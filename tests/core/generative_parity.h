// Checks the generative families' tests share, on a reference a script wrote with transformers:
// greedy generation and streaming, and pruned exports that transformers reloads.
#pragma once
#include <QTest>

#include "core/io/safetensors_writer.h"
#include "core/model/causal_vlm.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/report/export.h"
#include "tests/core/model_parity.h"

namespace ps_test {

// Greedy answers of the reference's left-padded batch (generate.*) and of its prompt
// (generate.both), and the model loaded streamed giving `logits` on that prompt. Reports through QTest.
inline void check_generation_and_streaming(const ps::Vlm& model, const Reference& ref, const at::Tensor& logits) {
    const auto* causal = dynamic_cast<const ps::CausalVlm*>(&model);
    QVERIFY(causal);
    const ps::VlmInputs batch = reference_inputs(ref, "generate.");
    const at::Tensor& want = ref["generate.ids"];
    const auto answers = causal->generate_batch(batch, static_cast<int>(want.size(1)), std::nullopt);
    for (int64_t b = 0; b < want.size(0); ++b) QCOMPARE(answers[static_cast<size_t>(b)], ids_of(want[b]));
    const ps::VlmInputs in = reference_inputs(ref);
    QCOMPARE(causal->generate(in, static_cast<int>(ref["generate.both"].size(1)), std::nullopt), ids_of(ref["generate.both"]));
    ps::LoadOptions streaming;  // one block resident
    streaming.streaming = true;
    QVERIFY(ps::Vlm::load(ref.dir.toStdString(), streaming)->forward(in).logits.equal(logits));
}

// The language model of the reference checkpoint pruned (Wanda 2:4, then half of each MLP's width
// with the config rewritten), exported, and reloaded by transformers (tests/python/hf_check.py) with
// our pruned model's logits on the reference's prompt. Reports through QTest.
inline void check_pruned_exports_reload(const Reference& ref) {
    const std::string dir = ref.dir.toStdString(), inputs = dir + "/inputs.safetensors";
    ps::NamedTensors saved;
    for (const char* name : {"input_ids", "pixel_values", "image_grid_thw", "image_sizes"})
        if (ref.has(name)) saved.emplace_back(name, ref[name]);
    ps::save_safetensors(inputs, saved);
    const ps::VlmInputs in = reference_inputs(ref);
    for (const char* method : {"wanda", "width"}) {
        ps::Plan p;
        p.model = dir;
        p.method = method;
        p.pattern = std::string(method) == "wanda" ? "2:4" : "structured";
        p.sparsity = 0.5;
        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.0}, {"projector", 0.0}, {"language", 0.5}};
        p.calibration.samples = 8;
        p.calibration.batch_size = 4;
        const std::string pruned = dir + "/" + method, out = pruned + "-hf";
        ps::run_prune(p, pruned, {});
        ps::export_checkpoint(pruned, out, {}, {});
        const at::Tensor ours = ps::Vlm::load(pruned)->forward(in).logits;
        QVERIFY2(diff(ours, ref["logits"]).first > 1e-3, "the pruned model answers as the dense one");
        QVERIFY(ours.equal(ps::Vlm::load(out)->forward(in).logits));
        const std::string theirs = out + "/reference-logits.safetensors";
        const auto py = run_python("hf_check.py", {"logits", QString::fromStdString(out), QString::fromStdString(inputs),
                                                   QString::fromStdString(theirs)});
        QVERIFY2(py.exit_code == 0, py.err.constData());
        const double d = diff(ours, ps::load_safetensors(theirs).at(0).second).first;
        qInfo("%s %s: transformers reloads the export, logits max abs diff %.3g", QTest::currentDataTag(), method, d);
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
    }
}

}  // namespace ps_test
