// core/model/model_map.cpp against transformers: for a tiny random checkpoint of every supported
// family, the Linears found from names and shapes are exactly the nn.Linear modules transformers
// builds, each with the modality of the sub-model it lives in (tests/python/tiny_models.py).
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/model/model_map.h"
#include "tests/test_support.h"

class TestModelMap : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString models_;

    const ps::LinearLayer& find(const ps::ModelMap& m, const std::string& name) {
        for (const auto& l : m.linears)
            if (l.name == name) return l;
        throw std::runtime_error("no linear " + name);
    }

private Q_SLOTS:
    void initTestCase() {
        models_ = tmp_.filePath("models");
        QVERIFY(QDir().mkpath(models_));
        auto r = ps_test::run_python("tiny_models.py", {models_});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void matches_transformers_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("family_id");
        for (const char* f : {"clip", "siglip", "vision-text-dual-encoder", "llava", "llava_new", "blip-2", "idefics3",
                              "qwen2-vl", "qwen3-vl"})
            QTest::newRow(f) << f << QString(f).replace("_new", "");
    }

    void matches_transformers() {
        QFETCH(QString, family);
        QFETCH(QString, family_id);
        const QString dir = models_ + "/" + family;
        const auto expected = nlohmann::json::parse(ps_test::read_bytes(dir + "/expected.json").toStdString());
        const ps::ModelMap map = ps::inspect_checkpoint(dir.toStdString());
        QCOMPARE(QString::fromStdString(map.family), family_id);

        std::map<std::string, std::string> got;
        for (const auto& l : map.linears) got[l.name] = ps::modality_name(l.modality);
        std::map<std::string, std::string> want = expected.get<std::map<std::string, std::string>>();
        for (const auto& [name, mod] : want) {
            QVERIFY2(got.count(name), qPrintable("transformers Linear not listed: " + QString::fromStdString(name)));
            QVERIFY2(got[name] == mod, qPrintable(QString::fromStdString(name + ": " + got[name] + " != " + mod)));
        }
        for (const auto& [name, mod] : got)
            QVERIFY2(want.count(name), qPrintable("listed but not a transformers Linear: " + QString::fromStdString(name)));

        uint64_t linear_params = 0;
        for (const auto& t : map.totals) linear_params += t.linear_params;
        uint64_t sum = 0;
        for (const auto& l : map.linears) sum += l.params();
        QCOMPARE(linear_params, sum);
        QVERIFY(map.of(ps::Modality::Vision).linears > 0);
        QVERIFY(map.of(ps::Modality::Language).linears > 0);
    }

    void blocks_and_roles() {
        const auto llava = ps::inspect_checkpoint((models_ + "/llava_new").toStdString());
        const auto& q = find(llava, "model.language_model.layers.1.self_attn.q_proj");
        QCOMPARE(q.block, 1);
        QCOMPARE(q.role, std::string("q"));
        QCOMPARE(q.group, std::string("model.language_model.layers.1"));
        QVERIFY(q.prunable);
        QVERIFY(!q.has_bias);
        const auto& k = find(llava, "model.language_model.layers.0.self_attn.k_proj");
        QCOMPARE(k.out_features, int64_t(16));  // 2 kv heads x head_dim 8 (GQA)
        QCOMPARE(k.in_features, int64_t(32));
        const auto& fc2 = find(llava, "model.vision_tower.vision_model.encoder.layers.1.mlp.fc2");
        QCOMPARE(fc2.role, std::string("fc2"));
        QVERIFY(fc2.has_bias);
        // vision_feature_layer -2 of a 2-block tower: the features are taken before block 1, which
        // never runs, so it is not prunable and says why.
        QVERIFY(!fc2.prunable);
        QVERIFY(find(llava, "model.vision_tower.vision_model.encoder.layers.0.mlp.fc2").prunable);
        const auto& p1 = find(llava, "model.multi_modal_projector.linear_1");
        QCOMPARE(p1.role, std::string("proj_1"));
        QVERIFY(p1.prunable);
        const auto& head = find(llava, "lm_head");
        QCOMPARE(head.modality, ps::Modality::Other);
        QVERIFY(!head.prunable);

        const auto vtde = ps::inspect_checkpoint((models_ + "/vision-text-dual-encoder").toStdString());
        QCOMPARE(find(vtde, "text_model.encoder.layer.1.attention.output.dense").role, std::string("o"));
        QCOMPARE(find(vtde, "text_model.encoder.layer.1.intermediate.dense").role, std::string("fc1"));
        QCOMPARE(find(vtde, "text_model.encoder.layer.1.output.dense").role, std::string("fc2"));
        QVERIFY(!find(vtde, "text_model.pooler.dense").prunable);

        const auto qwen = ps::inspect_checkpoint((models_ + "/qwen2-vl").toStdString());
        const auto& qkv = find(qwen, "visual.blocks.1.attn.qkv");
        QCOMPARE(qkv.role, std::string("qkv"));
        QCOMPARE(qkv.block, 1);
        QCOMPARE(find(qwen, "visual.blocks.1.attn.proj").role, std::string("o"));
        const auto qwen3 = ps::inspect_checkpoint((models_ + "/qwen3-vl").toStdString());
        QCOMPARE(find(qwen3, "model.visual.blocks.2.mlp.linear_fc1").role, std::string("fc1"));
        QCOMPARE(find(qwen3, "model.visual.blocks.2.mlp.linear_fc2").role, std::string("fc2"));
        QCOMPARE(find(qwen3, "model.visual.deepstack_merger_list.1.linear_fc2").block, -1);

        const auto blip = ps::inspect_checkpoint((models_ + "/blip-2").toStdString());
        for (const auto& l : blip.linears)
            if (l.name.find("crossattention") != std::string::npos)
                QVERIFY2(l.role.rfind("cross_", 0) == 0, l.name.c_str());
    }

    void totals_per_modality() {
        const auto clip = ps::inspect_checkpoint((models_ + "/clip").toStdString());
        uint64_t params = 0;
        int tensors = 0;
        for (const auto& t : clip.totals) {
            params += t.params;
            tensors += t.tensors;
        }
        QCOMPARE(params, clip.total_params);
        QCOMPARE(tensors, clip.num_tensors);
        // 2 layers x (q,k,v,o: 32x32, fc1: 37x32, fc2: 32x37) per tower
        QCOMPARE(clip.of(ps::Modality::Vision).linear_params, uint64_t(2 * (4 * 32 * 32 + 2 * 37 * 32)));
        QCOMPARE(clip.of(ps::Modality::Projector).linears, 2);
    }

    void unknown_model_type() {
        const QString d = tmp_.filePath("unknown");
        QVERIFY(QDir().mkpath(d));
        QVERIFY(QFile::copy(models_ + "/clip/model.safetensors", d + "/model.safetensors"));
        ps::write_file_atomic((d + "/config.json").toStdString(), R"({"model_type": "gpt-neo-vision"})");
        try {
            ps::inspect_checkpoint(d.toStdString());
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            const QString msg = e.what();
            QVERIFY2(msg.startsWith(d + "/config.json: unknown model_type \"gpt-neo-vision\""), qPrintable(msg));
            QVERIFY2(msg.contains("llava"), qPrintable(msg));
        }
        ps::write_file_atomic((d + "/config.json").toStdString(), R"({"architectures": []})");
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::inspect_checkpoint(d.toStdString()));
    }

    void plugin_family_registration() {
        ps::register_family({"toy", "Toy", {"toy-vlm"}, {{"eye\\.", ps::Modality::Vision}, {"mouth\\.", ps::Modality::Language}}});
        const QString d = tmp_.filePath("toy");
        QVERIFY(QDir().mkpath(d));
        ps::write_file_atomic((d + "/config.json").toStdString(), R"({"model_type": "toy-vlm"})");
        const float w[4] = {};
        ps::write_safetensors((d + "/model.safetensors").toStdString(),
                              {{"eye.blocks.0.fc1.weight", ps::DType::F32, {2, 2}, w, 16},
                               {"mouth.layers.3.up_proj.weight", ps::DType::F32, {2, 2}, w, 16}});
        const auto m = ps::inspect_checkpoint(d.toStdString());
        QCOMPARE(m.family_display, std::string("Toy"));
        QCOMPARE(m.linears.size(), size_t(2));
        QCOMPARE(m.linears[0].modality, ps::Modality::Vision);
        QCOMPARE(m.linears[1].block, 3);
        QCOMPARE(m.linears[1].role, std::string("up"));
    }
};

QTEST_GUILESS_MAIN(TestModelMap)
#include "test_model_map.moc"
