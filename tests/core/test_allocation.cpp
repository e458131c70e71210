// Allocation on the default model's map: uniform, per modality (language-only leaves vision
// alone), N:M, regex targets/ignore and overrides, and the errors that stop a run before it starts.
#include <QTest>

#include "core/error.h"
#include "core/job/plan.h"
#include "core/model/model_map.h"
#include "core/prune/allocation.h"

class TestAllocation : public QObject {
    Q_OBJECT
private:
    ps::ModelMap map_;
    size_t vision_ = 0, language_ = 0;

private Q_SLOTS:
    void initTestCase() {
        map_ = ps::inspect_checkpoint(PS_DEFAULT_MODEL);
        for (const auto& l : map_.linears)
            if (l.prunable && l.block >= 0) (l.modality == ps::Modality::Vision ? vision_ : language_)++;
        QCOMPARE(vision_, size_t(4 * 6));    // 4 ViT blocks x q, k, v, o, fc1, fc2
        QCOMPARE(language_, size_t(6 * 6));  // 6 MiniLM blocks
    }

    void uniform_and_modality() {
        ps::Plan p;
        p.sparsity = 0.4;
        ps::SparsityMap a = ps::allocate(p, map_);
        QCOMPARE(a.size(), vision_ + language_);
        for (const auto& [n, s] : a) QCOMPARE(s, 0.4);

        p.allocation.kind = "modality";
        p.allocation.modality = {{"vision", 0.0}, {"language", 0.6}};
        a = ps::allocate(p, map_);
        for (const auto& [n, s] : a) QCOMPARE(s, n.rfind("vision_model.", 0) == 0 ? 0.0 : 0.6);

        p.pattern = "2:4";
        a = ps::allocate(p, map_);
        for (const auto& [n, s] : a) QCOMPARE(s, n.rfind("vision_model.", 0) == 0 ? 0.0 : 0.5);
    }

    void targets_ignore_overrides() {
        ps::Plan p;
        p.targets = {".*intermediate\\.dense"};
        p.ignore = {"text_model\\..*"};
        p.overrides = {{"vision_model.encoder.layer.2.intermediate.dense", 0.9}};
        const ps::SparsityMap a = ps::allocate(p, map_);
        QCOMPARE(a.size(), size_t(4));
        QCOMPARE(a.at("vision_model.encoder.layer.2.intermediate.dense"), 0.9);
        QCOMPARE(a.at("vision_model.encoder.layer.0.intermediate.dense"), 0.5);
    }

    void errors_before_work() {
        ps::Plan p;
        p.targets = {".*no_such_layer.*"};
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::allocate(p, map_));
        p = ps::Plan();
        p.ignore = {"nothing"};
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::allocate(p, map_));
        p = ps::Plan();
        p.overrides = {{"visual_projection", 0.5}};  // outside the blocks
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::allocate(p, map_));
        p = ps::Plan();
        p.pattern = "4:2";
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::allocate(p, map_));
    }

    void projector_only_when_given_a_ratio() {
        ps::Plan p;
        QVERIFY(!ps::allocate(p, map_).count("visual_projection"));  // uniform: blocks only
        p.allocation.kind = "modality";
        p.allocation.modality = {{"projector", 0.25}, {"vision", 0.0}};
        const ps::SparsityMap m = ps::allocate(p, map_);
        QCOMPARE(m.at("visual_projection"), 0.25);
        QCOMPARE(m.at("text_projection"), 0.25);
        QCOMPARE(m.at("vision_model.encoder.layer.0.output.dense"), 0.0);
        QCOMPARE(m.at("text_model.encoder.layer.0.output.dense"), 0.5);  // not listed: the Plan's sparsity
        QCOMPARE(m.size(), size_t(60 + 2));
    }
};

QTEST_APPLESS_MAIN(TestAllocation)
#include "test_allocation.moc"
