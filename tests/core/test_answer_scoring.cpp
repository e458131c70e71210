// core/eval/vqa_accuracy, pope and mme against hand computations: VQAv2's normalisation cases
// (punctuation by position, digit commas, periods before digits, number words, articles,
// contractions, and the server's quirks kept: "Im" lower-cased past its table entry, at most 32
// periods dropped, unanimous human answers left unprocessed), ten-answer accuracy, POPE's reading
// of an answer and its metrics, MME's reading, acc and acc+. The normalisation also equals the
// server's regular expressions run by Python's re (tests/python/vqa_reference.py) on 800 seeded
// random answers built from words, digits, punctuation and whitespace.
#include <QTemporaryDir>
#include <QTest>

#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/eval/mme.h"
#include "core/eval/pope.h"
#include "core/eval/vqa_accuracy.h"
#include "tests/test_support.h"

class TestAnswerScoring : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void vqa_normalization_data() {
        QTest::addColumn<QString>("answer");
        QTest::addColumn<QString>("normalized");
        QTest::newRow("number word, trailing mark") << "Two dogs!" << "2 dogs";
        QTest::newRow("final period") << "yes." << "yes";
        QTest::newRow("digit comma") << "1,000" << "1000";
        QTest::newRow("decimal point kept") << "3.5" << "3.5";
        QTest::newRow("article") << "The cat" << "cat";
        QTest::newRow("none is zero") << "none" << "0";
        QTest::newRow("contraction") << "isnt" << "isn't";
        QTest::newRow("tab, spaces, hyphen between letters") << "  a  red-white\tflag " << "red white flag";
        QTest::newRow("question mark") << "hot dog?" << "hot dog";
        QTest::newRow("brackets at both ends") << "(yes)" << "yes";
        QTest::newRow("abbreviation periods") << "e.g. this" << "eg this";
        QTest::newRow("spaced comma") << "dog , cat" << "dog cat";
        QTest::newRow("lower-cased before the table") << "Im here" << "im here";
        QTest::newRow("at most 32 periods") << QString(40, '.') << QString(8, '.');
        QTest::newRow("slash between letters") << "black/white" << "black white";
        QTest::newRow("non-ASCII lower-cased") << "ÉCLAIR" << "éclair";
    }
    void vqa_normalization() {
        QFETCH(QString, answer);
        QFETCH(QString, normalized);
        QCOMPARE(QString::fromStdString(ps::vqa_normalize_answer(answer.toStdString())), normalized);
    }

    void vqa_normalization_matches_python() {
        const std::vector<std::string> pieces = {
            "dog", "Cat", "two", "Ten", "none", "the", "a", "An", "isnt", "dont", "Im", "youre", "red", "hot",
            "3", "1,000", "3.5", "12", ".", ",", ";", "/", "\\", "\"", "`", "[", "]", "(", ")", "{", "}", "<", ">",
            "@", "=", "+", "_", "-", "?", "!", "'", ":", " ", " ", "  ", "\t", "\n", "é", "Ä"};
        std::mt19937_64 rng(7);
        std::vector<std::string> answers;
        for (int i = 0; i < 800; ++i) {
            std::string a;
            const int n = std::uniform_int_distribution<int>(1, 9)(rng);
            for (int k = 0; k < n; ++k) a += pieces[std::uniform_int_distribution<size_t>(0, pieces.size() - 1)(rng)];
            answers.push_back(a);
        }
        QTemporaryDir tmp;
        const QString in = tmp.filePath("in.json"), out = tmp.filePath("out.json");
        ps_test::write_bytes(in, QByteArray::fromStdString(nlohmann::json(answers).dump()));
        const auto r = ps_test::run_python("vqa_reference.py", {in, out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        const auto expected = nlohmann::json::parse(ps_test::read_bytes(out).toStdString()).get<std::vector<std::string>>();
        QCOMPARE(expected.size(), answers.size());
        for (size_t i = 0; i < answers.size(); ++i)
            QVERIFY2(ps::vqa_normalize_answer(answers[i]) == expected[i],
                     qPrintable(QString::fromStdString("\"" + answers[i] + "\" → \"" + ps::vqa_normalize_answer(answers[i]) +
                                                       "\", Python \"" + expected[i] + "\"")));
    }

    void vqa_accuracy() {
        auto answers = [](std::initializer_list<std::pair<const char*, int>> counts) {
            std::vector<std::string> out;
            for (const auto& [a, n] : counts) out.insert(out.end(), n, a);
            return out;
        };
        // Three "2" and seven "3": leaving a "2" out leaves two matches (2/3), a "3" three (1).
        const auto twos_threes = answers({{"2", 3}, {"3", 7}});
        QCOMPARE(ps::vqa_accuracy("two", twos_threes), (3 * (2.0 / 3) + 7 * 1.0) / 10);
        QCOMPARE(ps::vqa_accuracy("3", twos_threes), 1.0);
        QCOMPARE(ps::vqa_accuracy("4", twos_threes), 0.0);
        // One "cat" among nine "dog": only the nine subsets that keep it match once.
        QCOMPARE(ps::vqa_accuracy("Cat.", answers({{"cat", 1}, {"dog", 9}})), 9 * (1.0 / 3) / 10);
        // Differing human answers get processPunctuation: "hot-dog" meets "hot dog".
        QCOMPARE(ps::vqa_accuracy("hot dog", answers({{"hot-dog", 5}, {"hot dog", 5}})), 1.0);
        // Unanimous ones are compared as written, as the server does.
        QCOMPARE(ps::vqa_accuracy("yes", answers({{"Yes.", 10}})), 0.0);
        QCOMPARE(ps::vqa_accuracy("yes", answers({{"yes", 10}})), 1.0);
        QCOMPARE(ps::vqa_accuracy("yes", {}), 0.0);

        QVERIFY(ps::vqa_exact_match("A sneaker.", "sneaker"));
        QVERIFY(ps::vqa_exact_match("Three", "3"));
        QVERIFY(!ps::vqa_exact_match("Sneakers", "sneaker"));
    }

    void pope_reading_data() {
        QTest::addColumn<QString>("answer");
        QTest::addColumn<bool>("yes");
        QTest::newRow("yes sentence") << "Yes, there is a dog in the image." << true;
        QTest::newRow("No with comma") << "No, there is no dog." << false;
        QTest::newRow("not") << "There is not a dog." << false;
        QTest::newRow("bare No") << "No." << false;
        QTest::newRow("only the first sentence") << "yes. but no" << true;
        QTest::newRow("no before the first period") << "I see no.Yes" << false;
        QTest::newRow("Nope is not a no word") << "Nope." << true;
        QTest::newRow("case matters") << "NO" << true;
        QTest::newRow("punctuation stays on the word") << "No!" << true;
        QTest::newRow("empty") << "" << true;
    }
    void pope_reading() {
        QFETCH(QString, answer);
        QFETCH(bool, yes);
        QCOMPARE(ps::pope_says_yes(answer.toStdString()), yes);
    }

    void pope_metrics() {
        const ps::YesNoMetrics m = ps::yes_no_metrics({true, true, false, false, true}, {true, false, false, true, true});
        QCOMPARE(m.tp, int64_t(2));
        QCOMPARE(m.fp, int64_t(1));
        QCOMPARE(m.tn, int64_t(1));
        QCOMPARE(m.fn, int64_t(1));
        QCOMPARE(m.accuracy, 0.6);
        QCOMPARE(m.precision, 2.0 / 3);
        QCOMPARE(m.recall, 2.0 / 3);
        QCOMPARE(m.f1, 2.0 / 3);
        QCOMPARE(m.yes_ratio, 0.6);
        const ps::YesNoMetrics never = ps::yes_no_metrics({false, false}, {true, false});
        QCOMPARE(never.accuracy, 0.5);
        QCOMPARE(never.precision, 0.0);
        QCOMPARE(never.f1, 0.0);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::yes_no_metrics({true}, {}));
    }

    void mme() {
        QCOMPARE(ps::mme_answer("Yes"), std::string("yes"));
        QCOMPARE(ps::mme_answer("No, it is not."), std::string("no"));
        QCOMPARE(ps::mme_answer("Yes, there is"), std::string("yes"));
        QCOMPARE(ps::mme_answer("I think yes"), std::string("other"));
        QCOMPARE(ps::mme_answer("nothing"), std::string("no"));
        // Image a: both right; b: one; c: none → acc 3/6, acc+ 1/3.
        const ps::MmeScore s = ps::mme_score({{"a", true}, {"a", true}, {"b", true}, {"b", false}, {"c", false}, {"c", false}});
        QCOMPARE(s.acc, 50.0);
        QCOMPARE(s.acc_plus, 100.0 / 3);
        QCOMPARE(s.score(), 50.0 + 100.0 / 3);
        QCOMPARE(ps::mme_score({}).score(), 0.0);
    }
};

QTEST_GUILESS_MAIN(TestAnswerScoring)
#include "test_answer_scoring.moc"
