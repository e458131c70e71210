// core/model/demo_checkpoint.cpp: the generated demo is a valid LLaVA checkpoint that transformers
// loads without a missing or unexpected key, and it is reproducible from its seed.
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/tensor_view.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/model_map.h"
#include "tests/test_support.h"

class TestDemoCheckpoint : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void loads_in_transformers() {
        const QString dir = tmp_.filePath("demo");
        ps::write_demo_checkpoint(dir.toStdString());
        auto r = ps_test::run_python("hf_check.py", {"load", dir});
        QVERIFY2(r.exit_code == 0, (r.out + r.err).constData());
        const auto out = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(out["params"].get<uint64_t>(), ps::inspect_checkpoint(dir.toStdString()).total_params);
    }

    void layout() {
        const QString dir = tmp_.filePath("demo_layout");
        ps::write_demo_checkpoint(dir.toStdString());
        const auto m = ps::inspect_checkpoint(dir.toStdString());
        QCOMPARE(m.family, std::string("llava"));
        QCOMPARE(m.of(ps::Modality::Vision).linears, 4 * 6);
        QCOMPARE(m.of(ps::Modality::Projector).linears, 2);
        QCOMPARE(m.of(ps::Modality::Language).linears, 6 * 7);
        QCOMPARE(m.of(ps::Modality::Other).linears, 1);
    }

    void seeded_and_never_overwrites() {
        const QString a = tmp_.filePath("seed_a"), b = tmp_.filePath("seed_b"), c = tmp_.filePath("seed_c");
        ps::write_demo_checkpoint(a.toStdString(), 7);
        ps::write_demo_checkpoint(b.toStdString(), 7);
        ps::write_demo_checkpoint(c.toStdString(), 8);
        const auto ca = ps::Checkpoint::open(a.toStdString()), cb = ps::Checkpoint::open(b.toStdString()),
                   cc = ps::Checkpoint::open(c.toStdString());
        const std::string w = "language_model.model.layers.0.mlp.up_proj.weight";
        QVERIFY(at::equal(ps::tensor_view(ca, w), ps::tensor_view(cb, w)));
        QVERIFY(!at::equal(ps::tensor_view(ca, w), ps::tensor_view(cc, w)));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::write_demo_checkpoint(a.toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestDemoCheckpoint)
#include "test_demo_checkpoint.moc"
