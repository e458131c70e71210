// core/model/weights.cpp: streaming gives bit-identical outputs to resident weights while holding
// one block at a time: its peak RSS growth (VmHWM from /proc/self/status, reset through
// clear_refs) stays below the resident one by at least the size of all blocks but two; held block
// tensors are let go one at a time or all together.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <malloc.h>

#include <cstring>
#include <fstream>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "tests/core/model_parity.h"

namespace {

int64_t status_bytes(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::strlen(field))) * 1024;
    return -1;
}

// Resets the peak resident set to the current one and returns it.
int64_t reset_peak_rss() {
    malloc_trim(0);  // hand freed heap back first, so the new peak starts from live memory only
    std::ofstream("/proc/self/clear_refs") << "5";
    return status_bytes("VmRSS:");
}

}  // namespace

class TestWeights : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void streaming_peak_rss_and_identical_outputs() {
        // 2 towers x 6 blocks of hidden 512 / intermediate 2048: 12.6 MB of float32 per block.
        const auto ref = ps_test::make_reference(
            tmp_, "clip", {"--hidden", "512", "--heads", "8", "--layers", "6", "--intermediate", "2048"});
        QVERIFY(!ref.dir.isEmpty());
        const ps::VlmInputs in = ps_test::reference_inputs(ref);

        int64_t block_bytes = 0, blocks = 0;
        {
            const auto ckpt = ps::Checkpoint::open(ref.dir.toStdString());
            for (const auto& name : ckpt.names())
                if (name.find("encoder.layers.0.") != std::string::npos) block_bytes += ckpt.at(name).info->nbytes();
            blocks = 12;
        }
        block_bytes /= 2;  // both towers' block 0 were summed

        // Deterministic allocation for the measurement: one torch thread (no per-thread heap arenas)
        // and a fixed mmap threshold, so freed weights go back to the system at once.
        at::set_num_threads(1);
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        ps::LoadOptions streaming;
        streaming.streaming = true;
        ps::Vlm::load(ref.dir.toStdString(), streaming)->forward(in);  // torch's one-time set-up, outside both peaks

        ps::VlmOutputs resident_out, streamed_out;
        int64_t resident_peak = 0, streamed_peak = 0;
        {
            const int64_t base = reset_peak_rss();
            auto model = ps::Vlm::load(ref.dir.toStdString(), streaming);
            streamed_out = model->forward(in);
            streamed_peak = status_bytes("VmHWM:") - base;
        }
        {
            const int64_t base = reset_peak_rss();
            auto model = ps::Vlm::load(ref.dir.toStdString());
            resident_out = model->forward(in);
            resident_peak = status_bytes("VmHWM:") - base;
        }
        qInfo("block %.1f MB, peak RSS growth: resident %.1f MB, streamed %.1f MB", block_bytes / 1e6, resident_peak / 1e6,
              streamed_peak / 1e6);
        QVERIFY(at::equal(streamed_out.logits_per_image, resident_out.logits_per_image));
        QVERIFY(at::equal(streamed_out.image_embeds, resident_out.image_embeds));
        QVERIFY(at::equal(streamed_out.text_embeds, resident_out.text_embeds));
        QVERIFY2(resident_peak - streamed_peak >= (blocks - 2) * block_bytes,
                 qPrintable(QString("saved %1 MB, needed %2 MB").arg((resident_peak - streamed_peak) / 1e6)
                                .arg((blocks - 2) * block_bytes / 1e6)));
    }

    // While block tensors are held, get() gives the same tensor again; release_held() lets one go
    // (the next get() maps it afresh, with the same values) and leaves the others held.
    void release_held_lets_one_tensor_go() {
        const auto ref = ps_test::make_reference(tmp_, "clip", {});
        QVERIFY(!ref.dir.isEmpty());
        ps::LoadOptions opt;
        opt.streaming = true;
        ps::WeightStore w(ps::Checkpoint::open(ref.dir.toStdString()), opt);
        const std::string fc1 = "vision_model.encoder.layers.0.mlp.fc1.weight", fc2 = "vision_model.encoder.layers.0.mlp.fc2.weight";
        w.hold_block_tensors(true);
        const at::Tensor a = w.get(fc1), other = w.get(fc2);
        QVERIFY(w.get(fc1).is_same(a));
        w.release_held(fc1);
        const at::Tensor again = w.get(fc1);
        QVERIFY(!again.is_same(a));
        QVERIFY(at::equal(again, a));
        QVERIFY(w.get(fc2).is_same(other));
        w.hold_block_tensors(false);
        QVERIFY(!w.get(fc2).is_same(other));
    }

    void bad_inputs() {
        const auto ref = ps_test::make_reference(tmp_, "clip", {});
        QVERIFY(!ref.dir.isEmpty());
        ps::LoadOptions opt;
        opt.dtype = "int8";
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::Vlm::load(ref.dir.toStdString(), opt));
        opt = {};
        opt.device = "tpu";
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::Vlm::load(ref.dir.toStdString(), opt));
        ps::WeightStore w(ps::Checkpoint::open(ref.dir.toStdString()), {});
        try {
            w.get("vision_model.encoder.layers.0.mlp.fc1.weight", {7, 7});
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).contains("tensor 'vision_model.encoder.layers.0.mlp.fc1.weight' has shape [37, 32] but the config implies [7, 7]"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(ps::Error, w.get("no.such.tensor"));
        w.set("logit_scale", at::full({}, 3.0));
        QCOMPARE(w.get("logit_scale").item<double>(), 3.0);
        w.clear_overrides();
        QVERIFY(w.get("logit_scale").item<double>() != 3.0);
    }
};

QTEST_GUILESS_MAIN(TestWeights)
#include "test_weights.moc"
