// core/data/fashion_mnist_vqa.cpp on a crafted labelled set: the questions and references of each
// kind, POPE's negatives checked against a straightforward computation (random: another class;
// popular: the most frequent other class; adversarial: the other class of nearest mean image), and
// the same seed giving the same set.
#include <QTest>

#include "core/data/class_questions.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace {

// 30 images of 6x6 in five classes, class 2 the most frequent; each class one uneven grey level,
// so every class has one nearest other class.
ps::LabelledImages crafted() {
    ps::LabelledImages d;
    d.classes = {"t-shirt", "trouser", "ankle boot", "bag", "coat"};
    const std::vector<int64_t> labels = {0, 1, 2, 3, 4, 2, 2, 1, 0, 2, 3, 4, 2, 2, 1, 0, 2, 3, 4, 2, 0, 1, 3, 4, 2, 0, 1, 3, 4, 2};
    const std::vector<int> level = {0, 60, 150, 170, 250};
    d.labels = at::tensor(labels, at::kLong);
    d.images = at::empty({static_cast<int64_t>(labels.size()), 6, 6}, at::kByte);
    for (size_t i = 0; i < labels.size(); ++i) d.images[static_cast<int64_t>(i)].fill_(level[labels[i]]);
    return d;
}

}  // namespace

class TestFashionMnistVqa : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void open_and_choice() {
        const ps::LabelledImages d = crafted();
        const ps::VqaSet open = ps::fashion_mnist_vqa(d, ps::VqaKind::Open, 5);
        QCOMPARE(open.items.size(), size_t{5});
        QCOMPARE(open.images->images.size(0), int64_t{5});
        QCOMPARE(open.items[2].question, std::string("What is the item in this image?"));
        QCOMPARE(open.items[2].answers, std::vector<std::string>{"ankle boot"});
        QCOMPARE(open.items[2].image_index, int64_t{2});

        const ps::VqaSet choice = ps::fashion_mnist_vqa(d, ps::VqaKind::Choice, -1, 3);
        QCOMPARE(choice.items.size(), size_t{30});
        for (size_t i = 0; i < choice.items.size(); ++i) {
            const ps::VqaItem& q = choice.items[i];
            QCOMPARE(q.options.size(), size_t{4});
            const int64_t right = q.answers.at(0)[0] - 'A';
            std::string name = q.options[static_cast<size_t>(right)];
            name[0] = static_cast<char>(std::tolower(name[0]));
            QCOMPARE(name, d.classes[static_cast<size_t>(d.labels[static_cast<int64_t>(i)].item<int64_t>())]);
            QCOMPARE(ps::options_in_question(q.question), q.options);  // the options are lettered in the text
        }
        // The same seed, the same set; another seed, other options.
        const ps::VqaSet again = ps::fashion_mnist_vqa(d, ps::VqaKind::Choice, -1, 3), other = ps::fashion_mnist_vqa(d, ps::VqaKind::Choice, -1, 4);
        bool same = true, differs = false;
        for (size_t i = 0; i < choice.items.size(); ++i) {
            same = same && again.items[i].question == choice.items[i].question && again.items[i].answers == choice.items[i].answers;
            differs = differs || other.items[i].question != choice.items[i].question;
        }
        QVERIFY(same);
        QVERIFY(differs);
    }

    void pope_negatives() {
        const ps::LabelledImages d = crafted();
        const ps::VqaSet set = ps::fashion_mnist_vqa(d, ps::VqaKind::YesNo, -1, 1);
        QCOMPARE(set.items.size(), size_t{4 * 30});
        QCOMPARE(set.categories(), (std::vector<std::string>{"random", "popular", "adversarial"}));
        // Popular: class 2 is the most frequent (10 of 30), so its images get the next, class 0 (5, as many as the
        // others, first by index).
        std::vector<int64_t> count(5, 0);
        for (int64_t i = 0; i < 30; ++i) ++count[static_cast<size_t>(d.labels[i].item<int64_t>())];
        QCOMPARE(count[2], int64_t{10});
        auto asked = [&](const ps::VqaItem& q) {
            for (size_t c = 0; c < d.classes.size(); ++c)
                if (q.question == "Is there " + ps::with_article(d.classes[c]) + " in the image?") return static_cast<int64_t>(c);
            return int64_t{-1};
        };
        // Adversarial by hand: nearest other class by mean grey level (every pixel the same level).
        const std::vector<int> level = {0, 60, 150, 170, 250};
        auto nearest = [&](int64_t c) {
            int64_t best = -1;
            for (int64_t o = 0; o < 5; ++o)
                if (o != c && (best < 0 || std::abs(level[o] - level[c]) < std::abs(level[best] - level[c]))) best = o;
            return best;
        };
        for (int64_t i = 0; i < 30; ++i) {
            const int64_t y = d.labels[i].item<int64_t>();
            const ps::VqaItem* q = &set.items[static_cast<size_t>(4 * i)];
            QCOMPARE(q[0].category, std::string());
            QCOMPARE(q[0].answers, std::vector<std::string>{"yes"});
            QCOMPARE(asked(q[0]), y);
            for (int k = 1; k < 4; ++k) {
                QCOMPARE(q[k].answers, std::vector<std::string>{"no"});
                QCOMPARE(q[k].image_index, i);
                QVERIFY(asked(q[k]) >= 0 && asked(q[k]) != y);
            }
            QCOMPARE(q[2].category, std::string("popular"));
            QCOMPARE(asked(q[2]), y == 2 ? int64_t{0} : int64_t{2});
            QCOMPARE(q[3].category, std::string("adversarial"));
            QCOMPARE(asked(q[3]), nearest(y));
        }
    }

    void too_few_classes() {
        ps::LabelledImages d = crafted();
        d.classes.resize(3);
        QVERIFY(ps_test::error_of([&] { ps::fashion_mnist_vqa(d, ps::VqaKind::Open); }).contains("at least four classes"));
    }
};

QTEST_GUILESS_MAIN(TestFashionMnistVqa)
#include "test_fashion_mnist_vqa.moc"
