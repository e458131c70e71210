// core/data/class_questions.cpp: the training questions and reference answers, against cases
// written out by hand.
#include <QTest>

#include <random>

#include "core/data/class_questions.h"
#include "core/data/fashion_mnist.h"

class TestClassQuestions : public QObject {
    Q_OBJECT
private:
    const std::vector<std::string>& classes_ = ps::fashion_mnist_classes();

private Q_SLOTS:
    void questions_and_answers() {
        std::mt19937_64 rng(1);
        const ps::ClassQuestion open = ps::class_question(ps::QuestionKind::Open, 9, classes_, rng, 0);
        QCOMPARE(open.question, std::string("What is the item in this image?"));
        QCOMPARE(open.answer, std::string("An ankle boot."));
        const ps::ClassQuestion yes = ps::class_question(ps::QuestionKind::YesNo, 7, classes_, rng, 0);
        QCOMPARE(yes.question, std::string("Is there a sneaker in the image?"));
        QCOMPARE(yes.answer, std::string("Yes."));
        QVERIFY(yes.yes);
        const ps::ClassQuestion no = ps::class_question(ps::QuestionKind::YesNo, 7, classes_, rng, 1);
        QVERIFY(!no.yes);
        QCOMPARE(no.answer, std::string("No."));
        QVERIFY(no.question != yes.question);  // another class is asked
        const ps::ClassQuestion caption = ps::class_question(ps::QuestionKind::Caption, 0, classes_, rng, 0);
        QCOMPARE(caption.answer, std::string("A black and white photo of a t-shirt."));

        // Choice: four distinct options, the right one at the letter the answer gives.
        for (int trial = 0; trial < 50; ++trial) {
            const ps::ClassQuestion c = ps::class_question(ps::QuestionKind::Choice, trial % 10, classes_, rng);
            QCOMPARE(c.answer, c.letter);
            const std::string line = "\n" + c.letter + ". ";
            const size_t at = c.question.find(line);
            QVERIFY(at != std::string::npos);
            std::string option = c.question.substr(at + line.size(), c.question.find('\n', at + 1) - at - line.size());
            option[0] = static_cast<char>(std::tolower(option[0]));
            QCOMPARE(option, classes_[trial % 10]);
            for (const char* l : {"\nA. ", "\nB. ", "\nC. ", "\nD. "}) QVERIFY(c.question.find(l) != std::string::npos);
        }
        // The same seed gives the same questions.
        std::mt19937_64 a(7), b(7);
        for (int i = 0; i < 20; ++i)
            QCOMPARE(ps::class_question(ps::QuestionKind::Open, i % 10, classes_, a).question,
                     ps::class_question(ps::QuestionKind::Open, i % 10, classes_, b).question);
    }
};

QTEST_GUILESS_MAIN(TestClassQuestions)
#include "test_class_questions.moc"
