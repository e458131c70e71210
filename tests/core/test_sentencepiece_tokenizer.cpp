// core/io/sentencepiece_tokenizer.cpp: a BPE model with byte fallback trained by
// tokenizer_reference.py in LLaMA's settings, against transformers' LlamaTokenizer (legacy).
#include <QTemporaryDir>
#include <QTest>

#include "core/io/sentencepiece_tokenizer.h"
#include "tests/core/tokenizer_parity.h"

class TestSentencePieceTokenizer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_;

    std::string dir() const { return ref_.at("dir").get<std::string>(); }

private Q_SLOTS:
    void initTestCase() {
        ref_ = tokenizer_parity::make_reference(tmp_.path(), "sentencepiece");
        QVERIFY2(!ref_.is_null(), "tokenizer_reference.py failed");
    }

    void matches_transformers() {
        const auto tok = ps::load_tokenizer(dir());
        QVERIFY(dynamic_cast<const ps::SentencePieceTokenizer*>(tok.get()));
        tokenizer_parity::compare_all(*tok, ref_);
        tokenizer_parity::compare_special_ids(*tok, ref_);
    }

    void vocabulary_lookups() {
        const auto tok = ps::load_tokenizer(dir());
        QCOMPARE(tok->id_to_token(1), std::optional<std::string>("<s>"));
        QCOMPARE(tok->token_to_id("</s>"), std::optional<int64_t>(2));
        QVERIFY(tok->token_to_id("<0x41>"));  // byte fallback pieces
        QVERIFY(!tok->token_to_id("no-such-piece-here"));
        const std::vector<int64_t> outside{-1};
        QVERIFY_THROWS_EXCEPTION(ps::Error, tok->decode(outside));
    }
};

QTEST_GUILESS_MAIN(TestSentencePieceTokenizer)
#include "test_sentencepiece_tokenizer.moc"
