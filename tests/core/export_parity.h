// The generative families' export check: the language model of a reference checkpoint pruned
// (Wanda 2:4, then half of each MLP's width with the config rewritten), exported, and reloaded by
// transformers (tests/python/hf_check.py) with our pruned model's logits on the reference's prompt.
#pragma once
#include <QTest>

#include "core/io/safetensors_writer.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/report/export.h"
#include "tests/core/model_parity.h"

namespace ps_test {

// `ref` as read_reference() gives it (its prompt's inputs and dense logits). Reports through QTest.
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
