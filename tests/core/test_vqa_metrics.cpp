// core/eval/vqa_metrics.cpp against hand computations on crafted answer sets: the letter read from
// a multiple-choice answer, option-likelihood ties, exact match and ten-answer VQA accuracy, POPE's
// metrics per negative set with the positives shared by every set, MME's acc and acc+ over pairs,
// and the token-weighted answer NLL and KL.
#include <QTest>

#include <cmath>

#include "core/error.h"
#include "core/eval/evaluation_options.h"
#include "core/eval/vqa_metrics.h"

namespace {

ps::VqaItem item(int64_t image, std::vector<std::string> answers, std::string category = {}, std::vector<std::string> options = {}) {
    ps::VqaItem i;
    i.image_index = image;
    i.answers = std::move(answers);
    i.category = std::move(category);
    i.options = std::move(options);
    return i;
}

ps::VqaRecord answered(std::string answer) {
    ps::VqaRecord r;
    r.answer = std::move(answer);
    r.generated = true;
    return r;
}

bool near(double a, double b) { return std::abs(a - b) < 1e-9; }

}  // namespace

class TestVqaMetrics : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void choice_letter_data() {
        QTest::addColumn<QString>("answer");
        QTest::addColumn<QString>("letter");
        QTest::newRow("letter alone") << "B" << "B";
        QTest::newRow("letter and period") << "C." << "C";
        QTest::newRow("letter in brackets") << "(C) Sneaker" << "C";
        QTest::newRow("letter and option") << "B. Sandal" << "B";
        QTest::newRow("letter and colon") << " D: trouser " << "D";
        QTest::newRow("stated") << "The answer is D." << "D";
        QTest::newRow("answer colon") << "Answer: (A)" << "A";
        QTest::newRow("option text with article") << "A sandal." << "B";
        QTest::newRow("option text, other case") << "TROUSER" << "D";
        QTest::newRow("word starting with a letter") << "Anything" << "";
        QTest::newRow("letter beyond the options") << "E" << "";
        QTest::newRow("lower-case letter") << "b" << "";
        QTest::newRow("empty") << "" << "";
    }
    void choice_letter() {
        QFETCH(QString, answer);
        QFETCH(QString, letter);
        const std::vector<std::string> options = {"Bag", "Sandal", "Sneaker", "Trouser"};
        QCOMPARE(QString::fromStdString(ps::choice_letter(answer.toStdString(), options)), letter);
    }

    void likeliest_option() {
        QCOMPARE(ps::likeliest_option({-3, -1.5, -1.5, -2}), int64_t{1});  // a tie goes to the earlier option
        QCOMPARE(ps::likeliest_option({-0.1}), int64_t{0});
        QCOMPARE(ps::likeliest_option({}), int64_t{-1});
    }

    void open_exact_match() {
        ps::VqaSet set;
        set.kind = ps::VqaKind::Open;
        set.items = {item(0, {"sneaker"}), item(1, {"sandal"}), item(2, {"t-shirt"}), item(3, {"bag", "handbag"})};
        std::vector<ps::VqaRecord> recs = {answered("Sneaker."), answered("a sneaker"), answered("T-shirt"), answered("Handbag")};
        const ps::EvalResult r = ps::vqa_metrics(set, recs);
        QCOMPARE(r.metrics.front().first, std::string("exact_match"));
        QVERIFY(near(r.metric("exact_match"), 75.0));
        QVERIFY(near(recs[0].score, 1) && near(recs[1].score, 0) && near(recs[3].score, 1));
        QVERIFY_THROWS_EXCEPTION(ps::Error, r.metric("vqa_accuracy"));  // no item has ten answers
        QVERIFY_THROWS_EXCEPTION(ps::Error, r.metric("answer_nll"));    // no likelihoods recorded
        QCOMPARE(r.metric("questions"), 4.0);
    }

    void open_ten_answers() {
        ps::VqaSet set;
        set.kind = ps::VqaKind::Open;
        // Two of ten humans said "2": left out in turn, 2 subsets hold one match (1/3), 8 hold two (2/3).
        // ("two" among the humans would not count: their answers are not turned into digits.)
        set.items = {item(0, {"2", "2", "3", "two", "3", "3", "3", "3", "4", "4"})};
        std::vector<ps::VqaRecord> recs = {answered("Two")};
        const ps::EvalResult r = ps::vqa_metrics(set, recs);
        QCOMPARE(r.metrics.front().first, std::string("vqa_accuracy"));
        QVERIFY(near(r.metric("vqa_accuracy"), 100.0 * (2 * (1.0 / 3) + 8 * (2.0 / 3)) / 10));
        QVERIFY(near(r.metric("exact_match"), 100.0));
        QVERIFY(near(recs[0].score, 0.6));
    }

    void pope_and_mme() {
        ps::VqaSet set;
        set.kind = ps::VqaKind::YesNo;
        // Per image: the positive (no category, in every set), then one negative of each set.
        for (int64_t image : {0, 1}) {
            set.items.push_back(item(image, {"yes"}));
            for (const char* c : {"random", "popular", "adversarial"}) set.items.push_back(item(image, {"no"}, c));
        }
        std::vector<ps::VqaRecord> recs = {answered("Yes"), answered("No"), answered("Yes, it is."), answered("Not at all"),
                                           answered("No"),  answered("no"), answered("No"),          answered("yes")};
        const ps::EvalResult r = ps::vqa_metrics(set, recs);
        // random: TP 1, FN 1, TN 2 -> acc 3/4, precision 1, recall 1/2, F1 2/3, yes-ratio 1/4.
        QVERIFY(near(r.metric("random/accuracy"), 75.0));
        QVERIFY(near(r.metric("random/precision"), 100.0));
        QVERIFY(near(r.metric("random/recall"), 50.0));
        QVERIFY(near(r.metric("random/f1"), 200.0 / 3));
        QVERIFY(near(r.metric("random/yes_ratio"), 0.25));
        // popular: TP, FP, FN, TN -> all one half.
        QVERIFY(near(r.metric("popular/accuracy"), 50.0));
        QVERIFY(near(r.metric("popular/f1"), 50.0));
        QVERIFY(near(r.metric("popular/yes_ratio"), 0.5));
        // adversarial: POPE's rule is case-sensitive, so "Not at all" reads as yes: TP, FP, FN, FP ->
        // accuracy 1/4, precision 1/3, recall 1/2, F1 2/5, yes-ratio 3/4.
        QVERIFY(near(r.metric("adversarial/accuracy"), 25.0));
        QVERIFY(near(r.metric("adversarial/precision"), 100.0 / 3));
        QVERIFY(near(r.metric("adversarial/f1"), 40.0));
        QVERIFY(near(r.metric("adversarial/yes_ratio"), 0.75));
        QCOMPARE(r.metrics.front().first, std::string("f1"));
        QVERIFY(near(r.metric("f1"), (200.0 / 3 + 50 + 40) / 3));
        QVERIFY(near(r.metric("accuracy"), (75.0 + 50 + 25) / 3));
        // MME, pairs per image in each set: random 3 of 4 right, image 0 both (acc 75, acc+ 50);
        // popular image 0's negative said yes, image 1's positive no (50, 0); adversarial (50, 50): MME
        // reads "not at all" as no (its first four characters hold "no").
        QVERIFY(near(r.metric("random/mme_acc"), 75.0) && near(r.metric("random/mme_acc_plus"), 50.0));
        QVERIFY(near(r.metric("popular/mme_acc"), 50.0) && near(r.metric("popular/mme_acc_plus"), 0.0));
        QVERIFY(near(r.metric("adversarial/mme_acc"), 50.0) && near(r.metric("adversarial/mme_acc_plus"), 50.0));
        QVERIFY(near(r.metric("mme_score"), 75 + 50 + 50 + 50 + 0 + 50));
        QVERIFY(near(recs[3].score, 0) && near(recs[7].score, 0) && near(recs[1].score, 1));  // POPE's reading

        // Three questions about one image are not MME pairs.
        set.items.resize(3);
        for (auto& i : set.items) i.category.clear();
        recs.resize(3);
        const ps::EvalResult three = ps::vqa_metrics(set, recs);
        QVERIFY_THROWS_EXCEPTION(ps::Error, three.metric("mme_acc"));
        QVERIFY_THROWS_EXCEPTION(ps::Error, three.metric("random/f1"));  // no categories, no per-category lines
        QVERIFY(near(three.metric("f1"), 100.0 * 2 / 3));  // TP 1, TN 1, FP 1: precision 1/2, recall 1
    }

    void choice_two_ways() {
        ps::VqaSet set;
        set.kind = ps::VqaKind::Choice;
        set.items = {item(0, {"C"}, {}, {"Red", "Green", "Blue"}), item(1, {"A"}, {}, {"Cat", "Dog", "Bird"})};
        std::vector<ps::VqaRecord> recs = {answered("C"), answered("The answer is B")};
        recs[0].option_logprob = {-3, -2, -1};
        recs[1].option_logprob = {-1, -1, -5};  // tie between A and B: A
        const ps::EvalResult r = ps::vqa_metrics(set, recs);
        QCOMPARE(r.metrics.front().first, std::string("letter_accuracy"));
        QVERIFY(near(r.metric("letter_accuracy"), 50.0));
        QVERIFY(near(r.metric("likelihood_accuracy"), 100.0));

        // Likelihoods alone (no generation): scored by them.
        std::vector<ps::VqaRecord> only(2);
        only[0].option_logprob = {-1, -2, -3};
        only[1].option_logprob = {-1, -2, -3};
        const ps::EvalResult l = ps::vqa_metrics(set, only);
        QCOMPARE(l.metrics.front().first, std::string("likelihood_accuracy"));
        QVERIFY(near(l.metric("likelihood_accuracy"), 50.0));
        QVERIFY(near(only[1].score, 1) && near(only[0].score, 0));
    }

    void nll_and_kl_per_token() {
        ps::VqaSet set;
        set.kind = ps::VqaKind::Open;
        set.items = {item(0, {"a b"}), item(1, {"c"})};
        std::vector<ps::VqaRecord> recs(2);
        recs[0].nll = 2.0, recs[0].kl = 0.3, recs[0].answer_tokens = 2;
        recs[1].nll = 1.0, recs[1].kl = 0.0, recs[1].answer_tokens = 1;
        const ps::EvalResult r = ps::vqa_metrics(set, recs);
        QCOMPARE(r.metrics.front().first, std::string("answer_nll"));
        QVERIFY(near(r.metric("answer_nll"), 1.0));
        QVERIFY(near(r.metric("answer_kl"), 0.1));
        QVERIFY_THROWS_EXCEPTION(ps::Error, r.metric("exact_match"));  // nothing generated
        QVERIFY(ps::metric_lower_is_better("answer_nll") && !ps::metric_lower_is_better("exact_match"));

        recs.pop_back();
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::vqa_metrics(set, recs));
    }
};

QTEST_GUILESS_MAIN(TestVqaMetrics)
#include "test_vqa_metrics.moc"
