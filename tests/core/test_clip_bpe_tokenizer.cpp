// core/io/clip_bpe_tokenizer.cpp: a byte-level BPE trained by tokenizer_reference.py in CLIP's
// format (vocab.json + merges.txt), against transformers' CLIPTokenizerFast.
#include <QTemporaryDir>
#include <QTest>

#include "core/io/clip_bpe_tokenizer.h"
#include "tests/core/tokenizer_parity.h"

class TestClipBpeTokenizer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_;

    std::string dir() const { return ref_.at("dir").get<std::string>(); }

private Q_SLOTS:
    void initTestCase() {
        ref_ = tokenizer_parity::make_reference(tmp_.path(), "clip");
        QVERIFY2(!ref_.is_null(), "tokenizer_reference.py failed");
    }

    void matches_transformers() {
        const auto tok = ps::load_tokenizer(dir());
        QVERIFY(dynamic_cast<const ps::ClipBpeTokenizer*>(tok.get()));
        tokenizer_parity::compare_all(*tok, ref_);
        tokenizer_parity::compare_special_ids(*tok, ref_);
    }

    void vocabulary_lookups() {
        const auto tok = ps::load_tokenizer(dir());
        const auto bos = tok->token_to_id("<|startoftext|>");
        QVERIFY(bos && bos == tok->bos_id());
        QCOMPARE(tok->id_to_token(*tok->eos_id()), std::optional<std::string>("<|endoftext|>"));
        QVERIFY(tok->token_to_id("a</w>"));  // every byte has an end-of-word twin
        QVERIFY(!tok->id_to_token(-1));
    }
};

QTEST_GUILESS_MAIN(TestClipBpeTokenizer)
#include "test_clip_bpe_tokenizer.moc"
