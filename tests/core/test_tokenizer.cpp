// core/io/tokenizer.cpp: load_tokenizer picks the kind from tokenizer_config.json or the files,
// every bad folder or file gives one line naming it, and max_length is enforced or truncates.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "tests/core/tokenizer_parity.h"

class TestTokenizer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_[3];  // wordpiece, clip, sentencepiece
    int n_ = 0;

    QString src(int kind) const { return QString::fromStdString(ref_[kind].at("dir").get<std::string>()); }

    // A new folder with some of a reference folder's files.
    QString folder_with(int kind, const QStringList& files) {
        const QString d = tmp_.filePath(QString("t%1").arg(n_++));
        QDir().mkpath(d);
        for (const auto& f : files) QFile::copy(src(kind) + "/" + f, d + "/" + f);
        return d;
    }

    void write(const QString& path, const std::string& text) { ps::write_file_atomic(path.toStdString(), text); }

    void expect_error(const QString& dir, const QString& where, const QString& what) {
        try {
            ps::load_tokenizer(dir.toStdString());
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.startsWith(where + ": "), qPrintable(msg));
            QVERIFY2(msg.contains(what), qPrintable(msg));
            QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        }
    }

    // The first reference string's ids, from a folder holding only some of the files.
    void same_ids(const QString& dir, int kind, const std::string& cls) {
        const auto tok = ps::load_tokenizer(dir.toStdString());
        QCOMPARE(tok->reference_class(), cls);
        for (size_t i : {9, 60, 120}) {
            const auto& c = ref_[kind].at("cases").at(i);
            QCOMPARE(tok->encode(c.at("text").get<std::string>()), c.at("ids").get<std::vector<int64_t>>());
        }
    }

private Q_SLOTS:
    void initTestCase() {
        const char* kinds[] = {"wordpiece", "clip", "sentencepiece"};
        for (int k = 0; k < 3; ++k) {
            ref_[k] = tokenizer_parity::make_reference(tmp_.filePath("ref"), kinds[k]);
            QVERIFY2(!ref_[k].is_null(), "tokenizer_reference.py failed");
        }
    }

    void kind_from_tokenizer_class() {
        same_ids(src(0), 0, "BertTokenizerFast");
        same_ids(src(1), 1, "CLIPTokenizerFast");
        same_ids(src(2), 2, "LlamaTokenizer");
    }

    void kind_from_files() {
        same_ids(folder_with(0, {"vocab.txt"}), 0, "BertTokenizerFast");
        same_ids(folder_with(0, {"tokenizer.json"}), 0, "BertTokenizerFast");
        same_ids(folder_with(1, {"vocab.json", "merges.txt"}), 1, "CLIPTokenizerFast");
        same_ids(folder_with(2, {"tokenizer.model"}), 2, "LlamaTokenizer");
    }

    void missing_files() {
        const QString none = tmp_.filePath("nope");
        expect_error(none, none, "no such folder");
        QString d = folder_with(0, {});
        expect_error(d, d, "no tokenizer files (expected tokenizer.json, vocab.txt, vocab.json + merges.txt or "
                           "tokenizer.model)");
        d = folder_with(1, {"vocab.json", "tokenizer_config.json"});
        expect_error(d, d, "no tokenizer files");
        d = folder_with(1, {"vocab.json", "tokenizer_config.json", "tokenizer.json"});
        expect_error(d, d, "merges.txt is missing");
        d = folder_with(2, {"tokenizer_config.json", "special_tokens_map.json"});
        QFile::copy(src(0) + "/vocab.txt", d + "/vocab.txt");
        expect_error(d, d, "expected tokenizer.model");
    }

    void malformed_files() {
        QString d = folder_with(1, {"merges.txt"});
        write(d + "/vocab.json", "{\"a\": 1,");
        expect_error(d, d + "/vocab.json", "not valid JSON");
        write(d + "/vocab.json", "[1, 2]");
        expect_error(d, d + "/vocab.json", "not a JSON object of token ids");
        write(d + "/vocab.json", "{\"a\": \"x\"}");
        expect_error(d, d + "/vocab.json", "the id of \"a\" is not a non-negative integer");

        d = folder_with(1, {"vocab.json"});
        write(d + "/merges.txt", "#version: 0.2\na b c\n");
        expect_error(d, d + "/merges.txt", "line 2: expected two symbols separated by a space");
        write(d + "/merges.txt", "#version: 0.2\nq \xC3\xA6\xC3\xA6\n");
        expect_error(d, d + "/merges.txt", "line 2: \"q \xC3\xA6\xC3\xA6\" uses a symbol that is not in vocab.json");

        d = folder_with(0, {});
        write(d + "/tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": ");
        expect_error(d, d + "/tokenizer.json", "not valid JSON");
        write(d + "/tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"b\"}}}");
        expect_error(d, d + "/tokenizer.json", "token id \"b\" is not a whole number");
        write(d + "/tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        expect_error(d, d + "/tokenizer.json", "needs tokenizer_config.json's tokenizer_class");

        d = folder_with(0, {"vocab.txt"});
        write(d + "/tokenizer_config.json", "{\"tokenizer_class\": \"T5Tokenizer\"}");
        expect_error(d, d + "/tokenizer_config.json", "tokenizer_class \"T5Tokenizer\" is not supported");
        write(d + "/tokenizer_config.json", "{\"do_lower_case\": tru");
        expect_error(d, d + "/tokenizer_config.json", "not valid JSON");

        d = folder_with(2, {"tokenizer_config.json"});
        write(d + "/tokenizer.model", "not a protobuf");
        expect_error(d, d + "/tokenizer.model", "not a valid SentencePiece model");
        d = folder_with(2, {"tokenizer.model"});
        write(d + "/tokenizer_config.json", "{\"tokenizer_class\": \"LlamaTokenizer\", \"legacy\": false}");
        expect_error(d, d + "/tokenizer_config.json", "legacy=false is not supported");
    }

    void max_length_and_truncation() {
        const auto tok = ps::load_tokenizer(src(0).toStdString());
        const std::string text = "one two three four five six seven eight nine ten";
        const auto full = tok->encode(text);
        QCOMPARE(full.size(), size_t(12));
        QCOMPARE(tok->encode(text, {true, 12, false}), full);
        try {
            tok->encode(text, {true, 8, false});
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.contains("the text is 12 tokens, longer than the limit 8"), qPrintable(msg));
            QVERIFY2(msg.contains("truncation is an explicit option"), qPrintable(msg));
        }
        const auto cut = tok->encode(text, {true, 8, true});
        QCOMPARE(cut.size(), size_t(8));
        QCOMPARE(cut.front(), full.front());
        QCOMPARE(cut.back(), *tok->sep_id());  // the end token is kept
        QCOMPARE(std::vector<int64_t>(cut.begin(), cut.end() - 1), std::vector<int64_t>(full.begin(), full.begin() + 7));
        QCOMPARE(tok->encode(text, {false, 5, true}), std::vector<int64_t>(full.begin() + 1, full.begin() + 6));
        const ps::EncodeOptions too_short{true, 1, true};  // no room for [CLS] and [SEP]
        QVERIFY_THROWS_EXCEPTION(ps::Error, tok->encode(text, too_short));
    }

    void invalid_utf8() {
        for (int k = 0; k < 3; ++k) {
            const auto tok = ps::load_tokenizer(src(k).toStdString());
            for (const char* bad : {"a\xFF", "\xC3", "\xED\xA0\x80", "\xC0\xAF"}) {
                try {
                    tok->encode(bad);
                    QFAIL("no error raised");
                } catch (const ps::Error& e) {
                    QVERIFY2(QString(e.what()).contains("not valid UTF-8"), e.what());
                }
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
