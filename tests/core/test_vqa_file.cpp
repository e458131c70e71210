// core/data/vqa_file.cpp: LLaVA question files (answers inline, as POPE labels, or from an
// annotation file in VQAv2's layout) and vqa.jsonl files load their questions, references, options
// and kind; every malformed file gives one line naming the file and line.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include "core/data/vqa_file.h"
#include "core/error.h"
#include "tests/test_support.h"

class TestVqaFile : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // tmp/<name>.jsonl holding `text`, beside images a.png and b.png (not decoded here).
    std::string file(const QString& name, const QByteArray& text) {
        for (const char* image : {"a.png", "b.png"}) ps_test::write_bytes(tmp_.filePath(image), "not decoded here");
        const QString path = tmp_.filePath(name + ".jsonl");
        ps_test::write_bytes(path, text);
        return path.toStdString();
    }

private Q_SLOTS:
    void llava_questions_with_annotations() {
        const std::string q = file("vqav2", "{\"question_id\": 11, \"image\": \"a.png\", \"text\": \"How many?\\nAnswer the question using a single word or phrase.\"}\n"
                                            "\n"
                                            "{\"question_id\": \"x2\", \"image\": \"b.png\", \"text\": \"What colour?\", \"category\": \"colour\"}\n");
        const std::string a = file("vqav2_annotations", "{\"question_id\": \"x2\", \"answers\": [{\"answer\": \"red\"}, {\"answer\": \"dark red\"}]}\n"
                                                        "{\"question_id\": 11, \"answer\": \"2\"}\n");
        ps::VqaFileOptions opt;
        opt.annotations = a;
        const ps::VqaSet set = ps::load_vqa_file(q, opt);
        QCOMPARE(set.kind, ps::VqaKind::Open);
        QCOMPARE(set.items.size(), size_t{2});
        QVERIFY(set.items[0].question_id == nlohmann::json(11));
        QVERIFY(set.items[1].question_id == nlohmann::json("x2"));
        QCOMPARE(set.items[0].answers, std::vector<std::string>{"2"});
        QCOMPARE(set.items[1].answers, (std::vector<std::string>{"red", "dark red"}));
        QCOMPARE(set.items[1].category, std::string("colour"));
        QCOMPARE(set.items[0].image, tmp_.filePath("a.png").toStdString());
        QCOMPARE(set.items[0].question, std::string("How many?\nAnswer the question using a single word or phrase."));
        QCOMPARE(set.categories(), std::vector<std::string>{"colour"});
    }

    void kinds_from_the_references() {
        // POPE's files: a yes/no label per line.
        const ps::VqaSet pope = ps::load_vqa_file(file("pope", "{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Is there a dog in the image?\", \"label\": \"Yes\", \"category\": \"random\"}\n"
                                                              "{\"question_id\": 2, \"image\": \"a.png\", \"text\": \"Is there a cat in the image?\", \"label\": \"no.\", \"category\": \"random\"}\n"));
        QCOMPARE(pope.kind, ps::VqaKind::YesNo);
        QCOMPARE(pope.items[0].answers, std::vector<std::string>{"yes"});
        QCOMPARE(pope.items[1].answers, std::vector<std::string>{"no"});
        // Lettered options in the text and a letter as reference: multiple choice.
        const ps::VqaSet sqa = ps::load_vqa_file(file("sqa", "{\"question_id\": 1, \"image\": \"b.png\", \"text\": \"Which is warm?\\nA. Ice\\nB. Fire\\nAnswer with the option's letter from the given choices directly.\", \"answers\": \"(B)\"}\n"));
        QCOMPARE(sqa.kind, ps::VqaKind::Choice);
        QCOMPARE(sqa.items[0].options, (std::vector<std::string>{"Ice", "Fire"}));
        QCOMPARE(sqa.items[0].answers, std::vector<std::string>{"B"});
        // The same file asked as open-ended when the task says so.
        ps::VqaFileOptions open;
        open.kind = ps::VqaKind::Open;
        QCOMPARE(ps::load_vqa_file(file("sqa", "{\"question_id\": 1, \"image\": \"b.png\", \"text\": \"Which is warm?\\nA. Ice\\nB. Fire\", \"answers\": \"B\"}\n"), open).kind,
                 ps::VqaKind::Open);
    }

    void our_layout_with_options() {
        QDir().mkpath(tmp_.filePath("pictures/sub"));
        ps_test::write_bytes(tmp_.filePath("pictures/sub/c.png"), "x");
        ps::VqaFileOptions opt;
        opt.image_folder = tmp_.filePath("pictures").toStdString();
        const ps::VqaSet set = ps::load_vqa_file(file("ours", "\xEF\xBB\xBF{\"image\": \"sub/c.png\", \"question\": \"Which item?\", \"options\": [\"Bag\", \"Coat\", \"Shirt\"], \"answers\": \"C\", \"kind\": \"choice\"}\n"
                                                              "{\"id\": \"second\", \"image\": \"sub/c.png\", \"question\": \"Which one?\", \"options\": [\"Bag\", \"Coat\"], \"answers\": [\"A\"]}\n"), opt);
        QCOMPARE(set.kind, ps::VqaKind::Choice);
        QCOMPARE(set.items[0].question, std::string("Which item?\nA. Bag\nB. Coat\nC. Shirt"));
        QVERIFY(set.items[0].question_id == nlohmann::json(0));  // no id: the line's index
        QVERIFY(set.items[1].question_id == nlohmann::json("second"));
        QCOMPARE(set.items[1].options.size(), size_t{2});
    }

    void bad_files_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("annotations");  // empty: none
        QTest::addColumn<QString>("expected");     // after "<file>:"
        const QByteArray ok = "{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\", \"answers\": \"x\"}\n";
        QTest::newRow("malformed line") << ok + "{\"question_id\": 2, \"image\"\n" << "" << "2: not valid JSON";
        QTest::newRow("not an object") << ok + "[1, 2]\n" << "" << "2: expected a JSON object, got array";
        QTest::newRow("missing image") << QByteArray("{\"question_id\": 1, \"image\": \"gone.png\", \"text\": \"Q?\", \"answers\": \"x\"}\n") << "" << "1: image 'gone.png' not found";
        QTest::newRow("image outside the folder") << QByteArray("{\"question_id\": 1, \"image\": \"../a.png\", \"text\": \"Q?\", \"answers\": \"x\"}\n") << "" << "1: image '../a.png' leaves the folder";
        QTest::newRow("absolute image path") << QByteArray("{\"question_id\": 1, \"image\": \"/etc/passwd\", \"text\": \"Q?\", \"answers\": \"x\"}\n") << "" << "1: image '/etc/passwd' is an absolute path";
        QTest::newRow("no image") << QByteArray("{\"question_id\": 1, \"text\": \"Q?\", \"answers\": \"x\"}\n") << "" << "1: missing \"image\"";
        QTest::newRow("empty question") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"  \", \"answers\": \"x\"}\n") << "" << "1: the question is empty";
        QTest::newRow("unknown kind") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"answers\": \"x\", \"kind\": \"essay\"}\n") << "" << "1: unknown kind \"essay\"";
        QTest::newRow("kinds differ") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"answers\": \"yes\", \"kind\": \"yes-no\"}\n"
                                                    "{\"image\": \"a.png\", \"question\": \"Q?\", \"answers\": \"x\", \"kind\": \"open\"}\n") << "" << "2: kind \"open\" differs";
        QTest::newRow("repeated id") << ok + ok << "" << "2: question id 1 repeats";
        QTest::newRow("no answers") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n") << "" << "1: no \"answers\"";
        QTest::newRow("answers of the wrong type") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\", \"answers\": 3}\n") << "" << "1: \"answers\" must be a string or a list";
        QTest::newRow("empty answer list") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\", \"answers\": []}\n") << "" << "1: \"answers\" is empty";
        QTest::newRow("question id of the wrong type") << QByteArray("{\"question_id\": 1.5, \"image\": \"a.png\", \"text\": \"Q?\", \"answers\": \"x\"}\n") << "" << "1: \"question_id\" must be a string or an integer";
        QTest::newRow("yes/no reference") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"answers\": \"maybe\", \"kind\": \"yes-no\"}\n") << "" << "1: the reference of a yes/no question must be yes or no";
        QTest::newRow("choice without options") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"answers\": \"A\", \"kind\": \"choice\"}\n") << "" << "1: a multiple-choice question needs";
        QTest::newRow("letter beyond the options") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"options\": [\"a\", \"b\", \"c\"], \"answers\": \"D\", \"kind\": \"choice\"}\n") << "" << "1: the reference of a multiple-choice question must be one of its option letters A-C";
        QTest::newRow("options not strings") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"options\": [\"a\", 2], \"answers\": \"A\"}\n") << "" << "1: \"options\" must hold strings";
        QTest::newRow("one option") << QByteArray("{\"image\": \"a.png\", \"question\": \"Q?\", \"options\": [\"a\"], \"answers\": \"A\"}\n") << "" << "1: \"options\" must be a list of 2 to 26 strings";
        QTest::newRow("empty file") << QByteArray("\n  \n") << "" << " has no questions";
        QTest::newRow("no annotation for a question")
            << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n{\"question_id\": 5, \"image\": \"a.png\", \"text\": \"Q?\"}\n")
            << "{\"question_id\": 1, \"answer\": \"x\"}\n" << "2: question_id 5 has no line in";
        QTest::newRow("malformed annotation") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n")
                                              << "{\"question_id\": 1}\n" << "A:1: no \"answers\", \"answer\" or \"label\"";
        QTest::newRow("annotated twice") << QByteArray("{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n")
                                         << "{\"question_id\": 1, \"answer\": \"x\"}\n{\"question_id\": 1, \"answer\": \"y\"}\n" << "A:2: question_id 1 is annotated twice";
    }
    void bad_files() {
        QFETCH(QByteArray, text);
        QFETCH(QString, annotations);
        QFETCH(QString, expected);
        const std::string q = file("bad", text);
        ps::VqaFileOptions opt;
        if (!annotations.isEmpty()) opt.annotations = file("bad_annotations", annotations.toUtf8());
        const QString msg = ps_test::error_of([&] { ps::load_vqa_file(q, opt); });
        qInfo("%s", qPrintable(msg));
        // "A:" marks an error in the annotation file; otherwise it names the question file.
        const QString named = expected.startsWith("A:") ? QString::fromStdString(opt.annotations) + ":" + expected.mid(2)
                                                        : QString::fromStdString(q) + ":" + expected;
        QVERIFY2(msg.startsWith(named) && !msg.contains('\n'), qPrintable("'" + msg + "', expected it to start with '" + named + "'"));
    }

    void missing_files() {
        QVERIFY(ps_test::error_of([&] { ps::load_vqa_file(tmp_.filePath("none.jsonl").toStdString()); }).contains("no such question file"));
        ps::VqaFileOptions opt;
        opt.annotations = tmp_.filePath("none_annotations.jsonl").toStdString();
        const std::string q = file("q", "{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n");
        QVERIFY(ps_test::error_of([&] { ps::load_vqa_file(q, opt); }).contains("no such annotation file"));
        opt = {};
        opt.image_folder = tmp_.filePath("no-such-folder").toStdString();
        QVERIFY(ps_test::error_of([&] { ps::load_vqa_file(q, opt); }).contains("no such image folder"));
    }
};

QTEST_GUILESS_MAIN(TestVqaFile)
#include "test_vqa_file.moc"
