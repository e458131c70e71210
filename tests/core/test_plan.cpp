// Plans: round trip through JSON, every preset loads, and bad fields are named in one-line errors.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <set>

#include "core/error.h"
#include "core/io/json_util.h"
#include "core/job/plan.h"

class TestPlan : public QObject {
    Q_OBJECT
private:
    static void expect_error(const nlohmann::json& j, const QString& needle) {
        try {
            ps::Plan::from_json(j, "p.json");
            QFAIL(qPrintable("no error for " + QString::fromStdString(j.dump())));
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).startsWith("p.json: ") && QString(e.what()).contains(needle), e.what());
        }
    }

private Q_SLOTS:
    void round_trip() {
        ps::Plan p;
        p.name = "x";
        p.model = "/m";
        p.method = "sparsegpt";
        p.pattern = "2:4";
        p.sparsity = 0.3;
        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.2}, {"language", 0.6}};
        p.targets = {".*mlp.*"};
        p.ignore = {".*fc2"};
        p.overrides = {{"a.b", 0.1}};
        p.calibration.samples = 7;
        p.evaluation.task = "yes-no";
        p.evaluation.metric = "adversarial/f1";
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("plan.json").toStdString();
        p.save(path);
        const ps::Plan q = ps::Plan::load(path);
        QCOMPARE(QString::fromStdString(q.to_json().dump()), QString::fromStdString(p.to_json().dump()));
        QCOMPARE(q.allocation.modality.at("language"), 0.6);
        QCOMPARE(q.calibration.samples, int64_t(7));
        QCOMPARE(q.evaluation.metric, std::string("adversarial/f1"));
        // the task by the model's kind: empty means zero-shot or open; another kind's task is refused
        ps::EvaluationOptions e;
        QCOMPARE(e.task_for(false), std::string("zero-shot"));
        QCOMPARE(e.task_for(true), std::string("open"));
        QCOMPARE(q.evaluation.task_for(true), std::string("yes-no"));
        QVERIFY_THROWS_EXCEPTION(ps::Error, q.evaluation.task_for(false));
    }

    void presets_load() {
        const QDir dir(QString(PS_SOURCE_DIR) + "/resources/presets");
        const QStringList files = dir.entryList({"*.json"});
        std::set<std::string> names;
        for (const QString& f : files) {
            const ps::Plan p = ps::Plan::load(dir.filePath(f).toStdString());
            QVERIFY2(!p.name.empty(), qPrintable(f));
            QVERIFY2(p.model.empty(), qPrintable(f));  // presets leave the model to the user
            names.insert(p.name);
        }
        for (const char* name : {"Wanda 50% equal V/L", "Wanda 2:4 language-only", "SparseGPT 70% equal", "ECoFLaP 60%",
                                 "Width 30% (LLM-Pruner-style)", "Depth: drop 25% of blocks"})
            QVERIFY2(names.count(name), name);
    }

    void bad_fields() {
        expect_error({{"sparsity", 1.0}}, "sparsity: 1.000000 is outside [0, 1)");
        expect_error({{"sparsity", -0.1}}, "sparsity:");
        expect_error({{"sparsity", "half"}}, "sparsity: must be a number");
        expect_error({{"frobnicate", 1}}, "frobnicate: unknown field");
        expect_error({{"targets", {"("}}}, "targets: \"(\" is not a valid regular expression");
        expect_error({{"allocation", {{"kind", "modality"}, {"vision", 1.5}}}}, "allocation.vision:");
        expect_error({{"allocation", {{"kind", "global"}}}}, "allocation.kind:");
        expect_error({{"allocation", {{"vision", 0.5}}}}, "need \"kind\": \"modality\"");
        expect_error({{"calibration", {{"samples", 0}}}}, "calibration.samples: 0 is below 1");
        expect_error({{"overrides", {{"x", 2}}}}, "overrides.x:");
        expect_error({{"dtype", "int8"}}, "dtype:");
        expect_error({{"compare", "column"}}, "compare:");
        expect_error({{"sequential", "layer"}}, "sequential: \"layer\" is not block or linear");
        expect_error({{"sequential", 1}}, "sequential:");
        expect_error({{"sparsegpt", {{"percdamp", 0}}}}, "sparsegpt.percdamp:");
        expect_error(nlohmann::json::array(), "must be a JSON object");
        expect_error({{"tokens", {{"metric", "gradcam"}}}}, "tokens.metric:");
        expect_error({{"tokens", {{"vision", {{"first", 0.5}}}}}}, "tokens.vision.first: keys must be vision block numbers");
        expect_error({{"tokens", {{"vision", {{"1", 1.5}}}}}}, "tokens.vision.1: 1.500000 is outside (0, 1]");
        expect_error({{"tokens", {{"language_keep", 0}}}}, "tokens.language_keep:");
        expect_error({{"tokens", {{"method", "gradcam"}}}}, "tokens.method: \"gradcam\" is not a token method (random, fastervlm");
        expect_error({{"tokens", {{"method", "dart"}, {"keep", 0}}}}, "tokens.keep: 0.000000 is outside (0, 1]");
        expect_error({{"tokens", {{"method", "random"}, {"pivots", 4}}}}, "tokens.pivots");  // DART's option, not random's
        expect_error({{"tokens", {{"method", "dart"}, {"metric", "cls"}}}}, "tokens.metric");  // no hand-given blocks beside a method
        expect_error({{"tokens", {{"method", "visionzip"}, {"contextual", 1.0}}}}, "tokens.contextual: 1.000000 is outside [0, 1)");
        expect_error({{"tokens", {{"method", "pyramiddrop"}, {"stages", 1}}}}, "tokens.stages: 1 is below 2");
        expect_error({{"tokens", {{"method", "random"}, {"seed", -1}}}}, "tokens.seed: -1 is below 0");
        expect_error({{"joint", {{"token_method", "gradcam"}}}}, "joint.token_method:");
        expect_error({{"joint", {{"flops_reduction", 1.0}}}}, "joint.flops_reduction:");
        expect_error({{"joint", {{"flops_reduction", 0.3}, {"step", 0.5}}}}, "joint.step:");
        expect_error({{"joint", {{"modes", {"params"}}}}}, "joint.modes:");
        expect_error({{"method", "comp"}, {"pattern", "2:4"}}, "pattern:");
        expect_error({{"evaluation", {{"task", "captioning"}}}}, "evaluation.task: \"captioning\" is not a task");
        expect_error({{"evaluation", {{"metric", 3}}}}, "evaluation.metric:");
        expect_error({{"evaluation", {{"images", 10}}}}, "evaluation.images: unknown field");
    }

    // A Plan file with every section, as the first release wrote it: every value is read where it
    // belongs and written back as it was, with the fields added since at their defaults
    // (joint.token_method: "comp", the token modes as they were; sequential: "block").
    void old_plan_file_loads_unchanged() {
        const std::string path = std::string(PS_SOURCE_DIR) + "/tests/data/projects/plan-every-section.json";
        const nlohmann::json old = ps::read_json_file(path);
        const ps::Plan p = ps::Plan::load(path);
        QCOMPARE(p.seed, uint64_t(7));
        QCOMPARE(p.calibration.samples, int64_t(16));
        QCOMPARE(p.allocation.modality.at("vision"), 0.3);
        QCOMPARE(p.allocation.owl_m, 7.0);
        QCOMPARE(p.method_options("sparsegpt").at("blocksize").get<int64_t>(), int64_t(64));
        QCOMPARE(p.method_options("sparsegpt").at("percdamp").get<double>(), 0.02);
        QCOMPARE(p.structured.score, std::string("activation"));
        QVERIFY(!p.structured.channels);
        QCOMPARE(p.joint.modes, (std::vector<std::string>{"vision-params", "language-tokens"}));
        QCOMPARE(p.joint.i_max, int64_t(3));
        QCOMPARE(p.recovery.mode, std::string("lora"));
        QCOMPARE(p.recovery.rank.at("vision"), int64_t(2));
        QCOMPARE(p.tokens.vision.at(2), 0.5);
        QCOMPARE(p.overrides.at("text_model.encoder.layer.0.intermediate.dense"), 0.25);
        nlohmann::json again = p.to_json();
        QCOMPARE(again["joint"]["token_method"].get<std::string>(), std::string("comp"));
        QCOMPARE(p.sequential, std::string("block"));
        QCOMPARE(ps::Plan::from_json({{"sequential", "linear"}}, "p.json").to_json()["sequential"].get<std::string>(), std::string("linear"));
        again["joint"].erase("token_method");
        for (const auto& [key, value] : old.items()) QVERIFY2(again.at(key) == value, key.c_str());
    }

    void tokens_and_joint_round_trip() {
        const nlohmann::json j = {{"method", "comp"},
                                  {"tokens", {{"metric", "received"}, {"vision", {{"2", 0.5}}}, {"language_after", 1}, {"language_keep", 0.25}}},
                                  {"joint", {{"flops_reduction", 0.4}, {"step", 0.1}, {"modes", {"vision-tokens", "vision-params"}}}}};
        const ps::Plan p = ps::Plan::from_json(j, "p.json");
        QCOMPARE(p.pattern, std::string("structured"));
        QCOMPARE(p.tokens.vision.at(2), 0.5);
        QCOMPARE(p.tokens.language_keep, 0.25);
        QVERIFY(!p.tokens.empty());
        QCOMPARE(p.joint.modes, (std::vector<std::string>{"vision-tokens", "vision-params"}));
        const ps::Plan q = ps::Plan::from_json(p.to_json(), "q.json");
        QCOMPARE(QString::fromStdString(q.to_json().dump()), QString::fromStdString(p.to_json().dump()));
        QVERIFY(ps::Plan().tokens.empty());
        const nlohmann::json m = {{"tokens", {{"method", "pyramiddrop"}, {"keep", 0.25}, {"stages", 3}}}, {"joint", {{"token_method", "dart"}}}};
        const ps::Plan r = ps::Plan::from_json(m, "r.json");
        QCOMPARE(r.tokens.method, std::string("pyramiddrop"));
        QCOMPARE(r.tokens.stages, 3);
        QVERIFY(!r.tokens.empty());
        QCOMPARE(r.joint.token_method, std::string("dart"));
        QCOMPARE(QString::fromStdString(ps::Plan::from_json(r.to_json(), "s.json").to_json().dump()), QString::fromStdString(r.to_json().dump()));
    }
};

QTEST_APPLESS_MAIN(TestPlan)
#include "test_plan.moc"
