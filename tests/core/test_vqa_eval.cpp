// core/eval/vqa_eval.cpp against transformers (tests/python/vqa_eval_reference.py): a tiny LLaVA
// with half of its language weights zeroed answers a LLaVA question file (answers in an annotation
// file) and a vqa.jsonl of multiple-choice questions, batched three at a time with padding; the
// prompts, the greedy answers, the reference answers' log-likelihoods, each option's and the KL to
// the dense model equal what transformers gives one question at a time. The answers written as
// LLaVA answer jsonl carry them line by line; cancelling stops the evaluation. One question about
// each of three images makes a batch without padding whose rows share the text before the image:
// decoded with that prefix run once, the answers are still transformers'.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/data/vqa_file.h"
#include "core/eval/llava_answers.h"
#include "core/eval/vqa_eval.h"
#include "core/model/vlm.h"
#include "tests/test_support.h"

class TestVqaEval : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json ref_;
    std::unique_ptr<ps::Vlm> dense_, pruned_;

    std::string path(const char* name) const { return (tmp_.path() + "/" + name).toStdString(); }

    static bool close(double a, double b) { return std::abs(a - b) <= 1e-6 + 1e-5 * std::abs(b); }

private Q_SLOTS:
    void initTestCase() {
        const auto run = ps_test::run_python("vqa_eval_reference.py", {tmp_.path()});
        QVERIFY2(run.exit_code == 0, run.err.constData());
        ref_ = nlohmann::json::parse(run.out.toStdString());
        dense_ = ps::Vlm::load(path("dense"));
        pruned_ = ps::Vlm::load(path("pruned"));
    }

    void matches_transformers_data() {
        QTest::addColumn<QString>("kind");
        QTest::newRow("open-ended, LLaVA questions with an annotation file") << "open";
        QTest::newRow("one question about each image (a shared, unpadded prefix)") << "same";
        QTest::newRow("multiple choice, vqa.jsonl with options") << "choice";
    }
    void matches_transformers() {
        QFETCH(QString, kind);
        ps::VqaFileOptions file;
        file.image_folder = path("images");
        if (kind == "open") file.annotations = path("open_annotations.jsonl");
        const ps::VqaSet set = ps::load_vqa_file(path((kind + ".jsonl").toStdString().c_str()), file);
        QCOMPARE(ps::vqa_kind_name(set.kind), kind == "same" ? std::string("open") : kind.toStdString());
        ps::VqaEvalOptions opt;
        opt.batch_size = 3;  // a batch of three and a padded remainder
        opt.dense = dense_.get();
        const ps::VqaEvalResult r = ps::evaluate_vqa(*pruned_, set, opt, ps::JobControl{});
        const nlohmann::json& want = ref_[kind.toStdString()];
        QCOMPARE(r.records.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            const ps::VqaRecord& got = r.records[i];
            QCOMPARE(got.prompt, want[i]["prompt"].get<std::string>());
            QCOMPARE(got.answer, want[i]["answer"].get<std::string>());
            QVERIFY2(close(-got.nll, want[i]["reference_logprob"].get<double>()),
                     qPrintable(QString("question %1: log-likelihood %2 vs %3").arg(i).arg(-got.nll).arg(want[i]["reference_logprob"].get<double>())));
            QVERIFY2(close(got.kl, want[i]["kl"].get<double>()),
                     qPrintable(QString("question %1: KL %2 vs %3").arg(i).arg(got.kl).arg(want[i]["kl"].get<double>())));
            QVERIFY(got.kl > 0);
            const auto& options = want[i]["option_logprobs"];
            QCOMPARE(got.option_logprob.size(), options.size());
            for (size_t k = 0; k < options.size(); ++k) QVERIFY(close(got.option_logprob[k], options[k].get<double>()));
        }
        // The answer jsonl: one line per question in order, the file's question ids kept.
        const std::string jsonl = ps::llava_answers_jsonl(set, r.records, "tiny");
        size_t begin = 0;
        for (size_t i = 0; i < set.items.size(); ++i) {
            const size_t end = jsonl.find('\n', begin);
            QVERIFY(end != std::string::npos);
            const nlohmann::json line = nlohmann::json::parse(jsonl.substr(begin, end - begin));
            QVERIFY(line["question_id"] == set.items[i].question_id);
            QCOMPARE(line["text"].get<std::string>(), r.records[i].answer);
            QCOMPARE(line["prompt"].get<std::string>(), r.records[i].prompt);
            QCOMPARE(line["model_id"].get<std::string>(), std::string("tiny"));
            begin = end + 1;
        }
        QCOMPARE(begin, jsonl.size());
    }

    void cancel_stops() {
        ps::VqaFileOptions file;
        file.image_folder = path("images");
        const ps::VqaSet set = ps::load_vqa_file(path("choice.jsonl"), file);
        ps::JobControl job;
        job.cancel();
        QVERIFY_THROWS_EXCEPTION(ps::Cancelled, ps::evaluate_vqa(*pruned_, set, ps::VqaEvalOptions{}, job));
    }
};

QTEST_GUILESS_MAIN(TestVqaEval)
#include "test_vqa_eval.moc"
