// core/prune/device_batches.cpp: rows per batch from free memory, consecutive batches joined only
// where they can be (same length, same inputs, same image shape) and in order, a joined batch giving
// the logits of its rows run one by one, and nothing changed on the CPU.
#include <QTest>

#include "core/data/fashion_mnist.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/prune/device_batches.h"

namespace {

ps::VlmInputs ids_batch(int64_t rows, int64_t tokens, int64_t first) {
    ps::VlmInputs b;
    b.input_ids = at::arange(first, first + rows * tokens, at::kLong).reshape({rows, tokens});
    b.attention_mask = at::ones({rows, tokens}, at::kLong);
    return b;
}

}  // namespace

class TestDeviceBatches : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rows_from_free_memory() {
        QCOMPARE(ps::rows_per_batch(1000, 100, 64), int64_t{5});  // half the free memory
        QCOMPARE(ps::rows_per_batch(1000, 100, 3), int64_t{3});   // never more than there are
        QCOMPARE(ps::rows_per_batch(50, 100, 64), int64_t{1});    // at least one
        QCOMPARE(ps::rows_per_batch(int64_t{80} << 30, int64_t{40} << 20, 128), int64_t{128});
        QCOMPARE(ps::rows_per_batch(1000, 0, 7), int64_t{7});
    }

    void joins_what_can_join() {
        std::vector<ps::VlmInputs> in = {ids_batch(1, 10, 0), ids_batch(1, 10, 100), ids_batch(1, 12, 200), ids_batch(1, 10, 300),
                                         ids_batch(1, 10, 400), ids_batch(1, 10, 500)};
        in[5].labels = in[5].input_ids.clone();  // labels where the one before has none
        const auto out = ps::join_batches(in, 2);
        QCOMPARE(out.size(), size_t{4});
        QVERIFY(out[0].input_ids.equal(at::cat({in[0].input_ids, in[1].input_ids})));
        QVERIFY(out[1].input_ids.equal(in[2].input_ids));  // another length
        QVERIFY(out[2].input_ids.equal(at::cat({in[3].input_ids, in[4].input_ids})));
        QVERIFY(out[2].attention_mask.equal(at::ones({2, 10}, at::kLong)) && !out[2].labels.defined());
        QVERIFY(out[3].labels.equal(in[5].labels));
        QCOMPARE(ps::join_batches(in, 1).size(), in.size());
        QCOMPARE(ps::join_batches(in, 100).size(), size_t{4});  // lengths and inputs still part them
    }

    void joined_rows_give_the_same_logits() {
        auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const ps::Processor processor(*model);
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        std::vector<ps::VlmInputs> rows;
        for (int64_t i : {0, 7, 9}) rows.push_back(processor.chat(ps::labelled_image_rgb(test, i), "What is this?", "A shirt."));
        const auto joined = ps::join_batches(rows, 3);
        QCOMPARE(joined.size(), size_t{1});
        QCOMPARE(joined[0].pixel_values.size(0), int64_t{3});
        const at::Tensor together = model->forward(joined[0]).logits;
        for (size_t r = 0; r < rows.size(); ++r) {
            const double diff = (together[static_cast<int64_t>(r)] - model->forward(rows[r]).logits[0]).abs().max().item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(QString::number(diff)));
        }
        // The estimate grows with the prompt, by the block's widths.
        int64_t hidden = 0, width = 0;
        for (const ps::LinearLayer& l : model->map().linears)
            if (l.block >= 0) {
                hidden = std::max(hidden, l.in_features);
                width = std::max({width, l.in_features, l.out_features});
            }
        QCOMPARE(ps::block_bytes_per_row(*model, 100), int64_t{4} * 100 * (8 * hidden + 3 * width + 100));
        // The CPU: no device memory to ask, the batches as they were.
        QVERIFY(!ps::free_device_memory(at::kCPU).has_value());
        QCOMPARE(ps::size_for_device(*model, rows).size(), rows.size());
    }

    void joined_to_free_memory_on_cuda() {
        if (!at::hasCUDA()) QSKIP("no CUDA device");
        ps::LoadOptions opt;
        opt.device = "cuda";
        auto model = ps::Vlm::load(PS_DEFAULT_VLM, opt);
        const std::optional<int64_t> free = ps::free_device_memory(model->weights().device());
        QVERIFY(free && *free > 0);
        std::vector<ps::VlmInputs> rows;
        for (int i = 0; i < 4; ++i) rows.push_back(ids_batch(1, 16, 10 * i));
        QCOMPARE(ps::size_for_device(*model, rows).size(), size_t{1});  // four short rows fit any GPU's free memory
    }
};

QTEST_GUILESS_MAIN(TestDeviceBatches)
#include "test_device_batches.moc"
