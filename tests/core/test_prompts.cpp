// core/data/prompts.cpp: the six zero-shot templates, class-major prompt order, placeholders.
#include <QTest>

#include "core/data/prompts.h"
#include "core/error.h"

class TestPrompts : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void templates() {
        const std::vector<std::string> expected{
            "a photo of a {}.",         "a photo of the {}.",       "a black and white photo of a {}.",
            "a low resolution photo of a {}.", "a product photo of a {}.", "a photo of a piece of clothing: a {}.",
        };
        QCOMPARE(ps::zero_shot_templates(), expected);
    }

    void class_major_order() {
        const std::vector<std::string> classes{"coat", "ankle boot", "t-shirt"};
        const auto& templates = ps::zero_shot_templates();
        const std::vector<std::string> p = ps::class_prompts(classes, templates);
        QCOMPARE(p.size(), classes.size() * templates.size());
        QCOMPARE(p[0], std::string("a photo of a coat."));
        QCOMPARE(p[1], std::string("a photo of the coat."));
        QCOMPARE(p[1 * 6 + 2], std::string("a black and white photo of a ankle boot."));
        QCOMPARE(p[2 * 6 + 5], std::string("a photo of a piece of clothing: a t-shirt."));
        for (size_t c = 0; c < classes.size(); ++c)
            for (size_t t = 0; t < templates.size(); ++t)
                QVERIFY(p[c * templates.size() + t].find(classes[c]) != std::string::npos);

        QCOMPARE(ps::class_prompts({"x"}, {"{} and {}", "{}"}), (std::vector<std::string>{"x and x", "x"}));
        QVERIFY(ps::class_prompts({}, templates).empty());
    }

    void template_without_placeholder_is_refused() {
        try {
            ps::class_prompts({"coat"}, {"a photo of a {}.", "a photo"});
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            QCOMPARE(QString(e.what()), QString("prompt template 'a photo': has no {} placeholder"));
        }
    }
};

QTEST_GUILESS_MAIN(TestPrompts)
#include "test_prompts.moc"
