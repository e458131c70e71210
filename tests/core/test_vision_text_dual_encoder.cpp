// core/model/vision_text_dual_encoder.cpp against transformers' VisionTextDualEncoderModel (ViT or
// CLIP vision tower, BERT text tower): embeddings, logits and every hidden state of both
// towers, in float32 and bfloat16, resident and streamed.
#include <QTemporaryDir>
#include <QTest>

#include "tests/core/model_parity.h"

class TestVisionTextDualEncoder : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void parity_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QStringList>("sizes");
        QTest::addColumn<bool>("streaming");
        QTest::newRow("float32") << "vision-text-dual-encoder" << "float32" << QStringList{} << false;
        QTest::newRow("float32 streamed") << "vision-text-dual-encoder" << "float32" << QStringList{} << true;
        QTest::newRow("float32, 3 heads of 12, 3 layers") << "vision-text-dual-encoder" << "float32" << QStringList{"--heads", "3", "--hidden", "36", "--layers", "3"} << false;
        QTest::newRow("bfloat16") << "vision-text-dual-encoder" << "bfloat16" << QStringList{} << false;
        QTest::newRow("CLIP vision tower") << "vtde-clip-vision" << "float32" << QStringList{} << false;
    }

    void parity() {
        QFETCH(QString, family);
        QFETCH(QString, dtype);
        QFETCH(QStringList, sizes);
        QFETCH(bool, streaming);
        ps_test::dual_encoder_parity(tmp_, family, dtype, sizes, streaming);
    }
};

QTEST_GUILESS_MAIN(TestVisionTextDualEncoder)
#include "test_vision_text_dual_encoder.moc"
