// core/model/siglip.cpp against transformers' SigLIPModel: embeddings, logits and every hidden
// state of both towers, in float32 and bfloat16, resident and streamed. Its vision tower has no
// [CLS]: a heatmap covers every patch with the attention each receives (as forward's captured
// probabilities give it), token pruning may drop any patch, and the cls metric is refused.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include "core/token/image_tokens.h"
#include "core/token/token_pruning.h"
#include "tests/core/model_parity.h"

class TestSigLIP : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void parity_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QStringList>("sizes");
        QTest::addColumn<bool>("streaming");
        QTest::newRow("float32") << "siglip" << "float32" << QStringList{} << false;
        QTest::newRow("float32 streamed") << "siglip" << "float32" << QStringList{} << true;
        QTest::newRow("float32, 3 heads of 12, 3 layers") << "siglip" << "float32" << QStringList{"--heads", "3", "--hidden", "36", "--layers", "3"} << false;
        QTest::newRow("bfloat16") << "siglip" << "bfloat16" << QStringList{} << false;
    }

    void parity() {
        QFETCH(QString, family);
        QFETCH(QString, dtype);
        QFETCH(QStringList, sizes);
        QFETCH(bool, streaming);
        ps_test::dual_encoder_parity(tmp_, family, dtype, sizes, streaming);
    }

    void patch_tokens_without_cls() {
        const auto ref = ps_test::make_reference(tmp_, "siglip", {"--layers", "3"});
        QVERIFY(!ref.dir.isEmpty());
        auto model = ps::Vlm::load(ref.dir.toStdString());
        const ps::VlmInputs in = ps_test::reference_inputs(ref);
        const int last = model->towers()[0].num_blocks - 1;
        ps::CaptureOptions cap;
        cap.attentions = {{0, last}};
        const at::Tensor want = ps::attention_received(model->forward(in, cap).attentions.at({0, last}));  // [B,N]
        const int64_t n = want.size(1), side = std::lround(std::sqrt(static_cast<double>(n)));
        QCOMPARE(side * side, n);
        const auto grids = ps::image_token_importance(*model, in, last, ps::TokenMetric::Received);
        QCOMPARE(static_cast<int64_t>(grids.size()), want.size(0));
        for (size_t b = 0; b < grids.size(); ++b) {
            QCOMPARE(grids[b].rows, static_cast<int>(side));
            QCOMPARE(grids[b].cols, static_cast<int>(side));
            PS_COMPARE_TENSOR(at::tensor(grids[b].scores), want[static_cast<int64_t>(b)], std::string("heatmap"), false, 1e-6, 0);
        }
        QVERIFY(ps_test::error_of([&] { ps::image_token_importance(*model, in, last, ps::TokenMetric::Cls); }).contains("tokens.metric"));

        ps::TokenPruning pruning;
        pruning.metric = ps::TokenMetric::Received;
        pruning.vision = {{0, 0.4}};
        ps::install_token_pruning(*model, pruning);
        ps::CaptureOptions hidden;
        hidden.hidden_states = true;
        const ps::VlmOutputs out = model->forward(in, hidden);
        QCOMPARE(out.hidden_states[0][2].size(1), ps::kept_tokens(n, 0.4));  // block 1 runs on the patches kept, none set aside
    }
};

QTEST_GUILESS_MAIN(TestSigLIP)
#include "test_siglip.moc"
