// Shared by the tokenizer suites: runs tests/python/tokenizer_reference.py for one kind and
// compares a ps::Tokenizer with the transformers ids and decodes it wrote, string by string.
#pragma once
#include <QString>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/tokenizer.h"
#include "tests/test_support.h"

namespace tokenizer_parity {

// Writes OUT/<kind>/ and OUT/<kind>.json; returns the parsed reference (empty on failure).
inline nlohmann::json make_reference(const QString& out, const QString& kind) {
    const auto r = ps_test::run_python("tokenizer_reference.py", {out, kind});
    if (r.exit_code != 0) {
        qWarning("%s", r.err.constData());
        return {};
    }
    return nlohmann::json::parse(ps_test::read_bytes(out + "/" + kind + ".json").toStdString());
}

inline QString show(const std::vector<int64_t>& ids) {
    QStringList s;
    for (int64_t i : ids) s << QString::number(i);
    return "[" + s.join(", ") + "]";
}

inline QString describe(size_t i, const std::string& text) {
    QString t = QString::fromStdString(text);
    if (t.size() > 80) t = t.left(80) + "…";
    return QString("string #%1 \"%2\"").arg(i).arg(t);
}

// Every reference string: ids with and without special tokens, truncated to 8, and both decodes.
inline void compare_all(const ps::Tokenizer& tok, const nlohmann::json& ref) {
    const auto& cases = ref.at("cases");
    QVERIFY2(cases.size() >= 200, "fewer than 200 reference strings");
    QCOMPARE(tok.vocab_size(), ref.at("vocab_size").get<int64_t>());
    QCOMPARE(QString::fromStdString(tok.reference_class()), QString::fromStdString(ref.at("class").get<std::string>()));
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        const std::string text = c.at("text").get<std::string>();
        const auto expect = c.at("ids").get<std::vector<int64_t>>();
        const auto got = tok.encode(text);
        QVERIFY2(got == expect, qPrintable(describe(i, text) + ": ids " + show(got) + ", transformers " + show(expect)));
        const auto plain = tok.encode(text, {false, 0, false});
        QVERIFY2(plain == c.at("ids_plain").get<std::vector<int64_t>>(),
                 qPrintable(describe(i, text) + ": ids without special tokens " + show(plain)));
        const auto cut = tok.encode(text, {true, 8, true});
        QVERIFY2(cut == c.at("ids_max8").get<std::vector<int64_t>>(),
                 qPrintable(describe(i, text) + ": truncated to 8 " + show(cut) + ", transformers " +
                            show(c.at("ids_max8").get<std::vector<int64_t>>())));
        const std::string dec = tok.decode(expect), dec_special = tok.decode(expect, false);
        QVERIFY2(dec == c.at("decoded").get<std::string>(),
                 qPrintable(describe(i, text) + ": decoded \"" + QString::fromStdString(dec) + "\", transformers \"" +
                            QString::fromStdString(c.at("decoded").get<std::string>()) + "\""));
        QVERIFY2(dec_special == c.at("decoded_special").get<std::string>(),
                 qPrintable(describe(i, text) + ": decoded with special tokens \"" + QString::fromStdString(dec_special) +
                            "\", transformers \"" + QString::fromStdString(c.at("decoded_special").get<std::string>()) +
                            "\""));
    }
}

inline void compare_special_ids(const ps::Tokenizer& tok, const nlohmann::json& ref) {
    const auto& s = ref.at("special");
    auto check = [&](const char* name, std::optional<int64_t> got) {
        const auto& e = s.at(name);
        QVERIFY2(e.is_null() ? !got : (got && *got == e.get<int64_t>()), name);
    };
    check("bos", tok.bos_id());
    check("eos", tok.eos_id());
    check("pad", tok.pad_id());
    check("unk", tok.unk_id());
    check("cls", tok.cls_id());
    check("sep", tok.sep_id());
}

}  // namespace tokenizer_parity
