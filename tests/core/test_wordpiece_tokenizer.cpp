// core/io/wordpiece_tokenizer.cpp: the real all-MiniLM-L6-v2 vocabulary against transformers'
// BertTokenizerFast, from tokenizer.json and from vocab.txt alone.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/io/wordpiece_tokenizer.h"
#include "tests/core/tokenizer_parity.h"

class TestWordPieceTokenizer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_;

    std::string dir() const { return ref_.at("dir").get<std::string>(); }

private Q_SLOTS:
    void initTestCase() {
        ref_ = tokenizer_parity::make_reference(tmp_.path(), "wordpiece");
        QVERIFY2(!ref_.is_null(), "tokenizer_reference.py failed");
    }

    void matches_transformers() {
        const auto tok = ps::load_tokenizer(dir());
        QVERIFY(dynamic_cast<const ps::WordPieceTokenizer*>(tok.get()));
        tokenizer_parity::compare_all(*tok, ref_);
        tokenizer_parity::compare_special_ids(*tok, ref_);
    }

    void vocab_txt_alone_matches_too() {
        const QString d = tmp_.filePath("vocab-only");
        QVERIFY(QDir().mkpath(d));
        for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
            QVERIFY(QFile::copy(QString::fromStdString(dir()) + "/" + f, d + "/" + f));
        tokenizer_parity::compare_all(*ps::load_tokenizer(d.toStdString()), ref_);
    }

    void vocabulary_lookups() {
        const auto tok = ps::load_tokenizer(dir());
        QCOMPARE(tok->token_to_id("[CLS]"), std::optional<int64_t>(101));
        QCOMPARE(tok->id_to_token(102), std::optional<std::string>("[SEP]"));
        QCOMPARE(tok->token_to_id("##ing").has_value(), true);
        QVERIFY(!tok->token_to_id("no-such-token-here"));
        QVERIFY(!tok->id_to_token(tok->vocab_size()));
        const std::vector<int64_t> outside{tok->vocab_size()};
        QVERIFY_THROWS_EXCEPTION(ps::Error, tok->decode(outside));
    }
};

QTEST_GUILESS_MAIN(TestWordPieceTokenizer)
#include "test_wordpiece_tokenizer.moc"
