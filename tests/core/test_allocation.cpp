// Allocation on the default model's map: uniform, per modality (language-only leaves vision
// alone), N:M, regex targets/ignore and overrides, and the errors that stop a run before it starts.
#include <QTest>

#include "core/error.h"
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
        p = ps::Plan();
        p.allocation.kind = "modality";
        p.allocation.modality = {{"projector", 0.5}};
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::allocate(p, map_));
    }
};

QTEST_APPLESS_MAIN(TestAllocation)
#include "test_allocation.moc"
