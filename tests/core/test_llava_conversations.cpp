// core/data/llava_conversations.cpp: LLaVA training conversations load as question-answer turns
// (the "<image>" placeholder removed, text-only records kept), and every malformed file gives one
// line naming the file and the record. As calibration data of the generative default, each batch
// is a record's first question with its image, then its answer and EOS, labelled so that the
// next-token loss is the answer's alone (checked against the cross-entropy over those positions by
// hand); recovery trains on them and scores the Plan's evaluation task before and after. Without a
// conversation file, recovery of the generative default trains on the built-in questions about
// training images outside the calibration split, labelled the same way.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cctype>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "core/data/fashion_mnist.h"
#include "core/data/image_processor.h"
#include "core/data/llava_conversations.h"
#include "core/data/splits.h"
#include "core/error.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/recover_run.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/prune/calibration.h"
#include "core/prune/calibration_loss.h"
#include "core/recover/recovery.h"
#include "tests/test_support.h"

class TestLlavaConversations : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    std::string file(const QString& name, const QByteArray& text) {
        const QString path = tmp_.filePath(name);
        ps_test::write_bytes(path, text);
        return path.toStdString();
    }

    // Six conversations about two images (and one without), as LLaVA's files write them.
    std::string good() {
        cv::Mat a(28, 28, CV_8UC3, cv::Scalar(30, 60, 90)), b(40, 20, CV_8UC3, cv::Scalar(200, 10, 10));
        cv::imwrite(tmp_.filePath("a.png").toStdString(), a);
        QDir().mkpath(tmp_.filePath("sub"));
        cv::imwrite(tmp_.filePath("sub/b.png").toStdString(), b);
        return file("chat.json", R"([
 {"id": "1", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat is in the image?"}, {"from": "gpt", "value": "A sneaker."}]},
 {"id": 2, "image": "sub/b.png", "conversations": [{"from": "human", "value": "Describe it.\n<image>"}, {"from": "gpt", "value": "A red block."},
                                                   {"from": "human", "value": "Is it round?"}, {"from": "gpt", "value": "No."}]},
 {"id": "3", "conversations": [{"from": "human", "value": "What is the capital of France?"}, {"from": "gpt", "value": "Paris."}]},
 {"id": "4", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nIs there a bag in the image?"}, {"from": "gpt", "value": "No."}]},
 {"id": "5", "image": "sub/b.png", "conversations": [{"from": "human", "value": "<image>\nWhat colour is it?"}, {"from": "gpt", "value": "Red."}]},
 {"id": "6", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat is the item?"}, {"from": "gpt", "value": "A sneaker."}]}
])");
    }

private Q_SLOTS:
    void loads_turns() {
        const auto c = ps::load_llava_conversations(good());
        QCOMPARE(c.size(), size_t{6});
        QCOMPARE(c[0].turns[0].question, std::string("What is in the image?"));
        QCOMPARE(c[0].image, tmp_.filePath("a.png").toStdString());
        QCOMPARE(c[1].id, std::string("2"));
        QCOMPARE(c[1].turns.size(), size_t{2});
        QCOMPARE(c[1].turns[0].question, std::string("Describe it."));
        QCOMPARE(c[1].turns[1].answer, std::string("No."));
        QVERIFY(c[2].image.empty());
        QCOMPARE(c[2].turns[0].answer, std::string("Paris."));
    }

    void bad_files_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("expected");  // after "<file>"
        const QByteArray turn = R"([{"from": "human", "value": "<image>\nQ"}, {"from": "gpt", "value": "A"}])";
        QTest::newRow("not JSON") << QByteArray("[{\"id\": 1,") << ": not valid JSON";
        QTest::newRow("not a list") << QByteArray("{\"id\": 1}") << ": expected a JSON list of conversations, got object";
        QTest::newRow("empty list") << QByteArray("[]") << ": has no conversations";
        QTest::newRow("record not an object") << QByteArray("[3]") << ": record 0: expected a JSON object, got number";
        QTest::newRow("no conversations") << QByteArray("[{\"id\": \"x\"}]") << ": record 0 (id x): \"conversations\" must be a non-empty list";
        QTest::newRow("odd turns") << QByteArray(R"([{"conversations": [{"from": "human", "value": "Q"}]}])") << ": record 0: \"conversations\" must alternate";
        QTest::newRow("gpt first") << QByteArray(R"([{"conversations": [{"from": "gpt", "value": "A"}, {"from": "human", "value": "Q"}]}])")
                                   << ": record 0, turn 0: turns must alternate";
        QTest::newRow("value not a string") << QByteArray(R"([{"conversations": [{"from": "human", "value": 1}, {"from": "gpt", "value": "A"}]}])")
                                            << ": record 0, turn 0: \"value\" must be a string";
        QTest::newRow("placeholder without image") << QByteArray("[{\"id\": \"7\", \"conversations\": " + turn + "}]")
                                                   << ": record 0 (id 7): asks about \"<image>\" but has no \"image\"";
        QTest::newRow("image without placeholder")
            << QByteArray(R"([{"image": "a.png", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}])")
            << ": record 0: has an image but no \"<image>\"";
        QTest::newRow("missing image") << QByteArray("[{\"image\": \"gone.png\", \"conversations\": " + turn + "}]")
                                       << ": record 0: image 'gone.png' not found";
        QTest::newRow("image outside the folder") << QByteArray("[{\"image\": \"../a.png\", \"conversations\": " + turn + "}]")
                                                  << ": record 0: image '../a.png' leaves the folder";
    }
    void bad_files() {
        QFETCH(QByteArray, text);
        QFETCH(QString, expected);
        const std::string path = file("bad/chat.json", text);
        const QString msg = ps_test::error_of([&] { ps::load_llava_conversations(path); });
        qInfo("%s", qPrintable(msg));
        const QString want = QString::fromStdString(path) + expected;
        QVERIFY2(msg.startsWith(want) && !msg.contains('\n'), qPrintable("'" + msg + "', expected '" + want + "'"));
    }
    void init() { QDir().mkpath(tmp_.filePath("bad")); }

    void calibration_labels_the_answer() {
        auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const ps::Processor processor(*model);
        ps::CalibrationOptions c;
        c.data = good();
        c.samples = 6;
        const auto batches = ps::calibration_batches(*model, c, 0);
        QCOMPARE(batches.size(), size_t{6});
        const auto all = ps::load_llava_conversations(c.data);
        int with_image = 0;
        for (const ps::VlmInputs& in : batches) {
            QVERIFY(in.labels.defined());
            const at::Tensor ids = in.input_ids[0], labels = in.labels[0];
            const int64_t prompt = (labels == -100).sum().item<int64_t>();
            QVERIFY((labels.slice(0, 0, prompt) == -100).all().item<bool>());
            QVERIFY(labels.slice(0, prompt).equal(ids.slice(0, prompt)));
            const std::vector<int64_t> answer(ids.data_ptr<int64_t>() + prompt, ids.data_ptr<int64_t>() + ids.size(0));
            QCOMPARE(answer.back(), *processor.tokenizer().eos_id());
            const std::string text = processor.tokenizer().decode(answer);
            bool known = false;
            for (const auto& conv : all) known = known || text == conv.turns[0].answer;
            QVERIFY2(known, text.c_str());
            with_image += in.pixel_values.defined();
        }
        QCOMPARE(with_image, 5);  // the text-only record has none

        // The loss is the answer's: cross-entropy over the positions that predict an answer token.
        const ps::VlmInputs& in = batches.front();
        const at::Tensor logits = model->forward(in).logits[0].to(at::kDouble);
        const at::Tensor labels = in.labels[0];
        double sum = 0;
        int64_t n = 0;
        for (int64_t t = 1; t < labels.size(0); ++t) {
            const int64_t y = labels[t].item<int64_t>();
            if (y == -100) continue;
            sum -= logits[t - 1].log_softmax(-1)[y].item<double>();
            ++n;
        }
        const double loss = ps::calibration_loss(*model, in).item<double>();
        QVERIFY2(std::abs(loss - sum / static_cast<double>(n)) < 1e-4, qPrintable(QString("%1 vs %2").arg(loss).arg(sum / n)));

        ps::CalibrationOptions dual = c;
        QVERIFY(ps_test::error_of([&] { ps::calibration_batches(*ps::Vlm::load(PS_DEFAULT_MODEL), dual, 0); })
                    .contains("conversations calibrate generative models"));
        c.samples = 7;
        QVERIFY(ps_test::error_of([&] { ps::calibration_batches(*model, c, 0); }).contains("the file has 6 conversations"));
    }

    void recovery_scores_the_task() {
        ps::Plan p;
        p.model = PS_DEFAULT_VLM;
        p.method = "magnitude";
        p.sparsity = 0.5;
        p.targets = {"model\\.language_model\\.layers\\.[01]\\..*"};
        p.calibration.data = good();
        p.calibration.samples = 2;
        p.recovery.data_fraction = 0.5;  // 3 conversations
        p.recovery.batch_size = 1;
        p.recovery.max_steps = 2;
        p.recovery.eval_samples = 4;  // four open-ended questions
        p.recovery.kl = 1.0;
        const std::string pruned = tmp_.filePath("pruned").toStdString(), out = tmp_.filePath("recovered").toStdString();
        ps::run_prune(p, pruned, {});
        p.recovery.pruned = pruned;
        const ps::RecoverRunSummary s = ps::run_recover(p, out, "", {});
        const nlohmann::json& m = s.result.at("task_metric");
        QCOMPARE(m.at("task").get<std::string>(), std::string("open"));
        QCOMPARE(m.at("metric").get<std::string>(), std::string("exact_match"));
        for (const char* k : {"dense", "pruned", "recovered"}) {
            const double v = m.at(k).get<double>();
            QVERIFY2(v >= 0 && v <= 100, k);
        }
        QCOMPARE(s.result["recovery"]["log"].size(), size_t{2});
        for (const auto& step : s.result["recovery"]["log"]) QVERIFY(step["task"].get<double>() > 0);
        QVERIFY(ps::read_json_file(out + "/result.json").contains("task_metric"));
    }

    void recovery_asks_the_built_in_questions() {
        auto model = ps::Vlm::load(PS_DEFAULT_VLM);
        const ps::Processor processor(*model);
        ps::CalibrationOptions c;  // fashion-mnist, 128 samples
        ps::RecoveryOptions r;
        r.data_fraction = 24.0 / 60000.0;
        r.batch_size = 1;
        const uint64_t seed = 5;
        const ps::RecoveryData data(*model, r, c, seed);
        QCOMPARE(data.examples(), int64_t{24});
        QCOMPARE(data.steps_per_epoch(), int64_t{24});

        // Each batch shows one of the training images after the calibration split.
        const ps::LabelledImages train = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "train");
        const std::vector<int64_t> picks = ps::make_splits(train.images.size(0), seed, c.samples, 24).recovery;
        std::vector<at::Tensor> expected;
        for (int64_t i : picks) expected.push_back(ps::preprocess_batch({ps::labelled_image_rgb(train, i)}, processor.image_config()));
        std::map<std::string, int> kinds, answers;
        std::set<int64_t> seen;
        for (int64_t b = 0; b < data.steps_per_epoch(); ++b) {
            const ps::VlmInputs& in = data.batch(b).inputs;
            QVERIFY(in.pixel_values.defined() && in.labels.defined());
            int64_t image = -1;
            for (size_t k = 0; k < expected.size(); ++k)
                if (expected[k].equal(in.pixel_values)) image = static_cast<int64_t>(k);
            QVERIFY2(image >= 0, "an image outside the recovery split");
            seen.insert(image);
            const int64_t prompt = (in.labels[0] == -100).sum().item<int64_t>();
            const std::vector<int64_t> ids(in.input_ids.data_ptr<int64_t>(), in.input_ids.data_ptr<int64_t>() + in.input_ids.size(1));
            const std::string question = processor.tokenizer().decode({ids.begin(), ids.begin() + prompt});
            const std::string answer = processor.tokenizer().decode({ids.begin() + prompt, ids.end() - 1});
            QCOMPARE(ids.back(), *processor.tokenizer().eos_id());
            const std::string cls = train.classes[train.labels[picks[image]].item<int64_t>()];
            if (question.find("What is the item in this image?\nAnswer the question using a single word or phrase.") != std::string::npos) {
                ++kinds["open"];
                QCOMPARE(answer, std::string(1, static_cast<char>(std::toupper(cls[0]))) + cls.substr(1));
            } else if (question.find("Is there ") != std::string::npos) {
                ++kinds["yes-no"];
                ++answers[answer];
                const bool own = question.find(" " + cls + " in the image?") != std::string::npos;
                QCOMPARE(answer, std::string(own ? "Yes" : "No"));
            } else {
                QVERIFY2(question.find("Which item is in the image?\nA. ") != std::string::npos, question.c_str());
                ++kinds["choice"];
                QVERIFY2(answer.size() == 1 && answer[0] >= 'A' && answer[0] <= 'D', answer.c_str());
                QVERIFY(question.find(answer + ". " + std::string(1, static_cast<char>(std::toupper(cls[0]))) + cls.substr(1)) != std::string::npos);
            }
        }
        QCOMPARE(seen.size(), size_t{24});  // every image once an epoch
        QCOMPARE(kinds["open"], 8);
        QCOMPARE(kinds["yes-no"], 8);
        QCOMPARE(kinds["choice"], 8);
        QCOMPARE(answers["Yes"], 4);  // the positive for half the images, a negative for the others
        QCOMPARE(answers["No"], 4);
    }
};

QTEST_GUILESS_MAIN(TestLlavaConversations)
#include "test_llava_conversations.moc"
