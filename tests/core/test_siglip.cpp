// core/model/siglip.cpp against transformers' SigLIPModel: embeddings, logits and every hidden
// state of both towers, in float32 and bfloat16, resident and streamed.
#include <QTemporaryDir>
#include <QTest>

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
};

QTEST_GUILESS_MAIN(TestSigLIP)
#include "test_siglip.moc"
