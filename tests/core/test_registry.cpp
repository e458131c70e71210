// The method and allocator registry: the built-ins are there with what they need, unknown ids and
// bad registrations fail in one-line errors that name them, and a method or allocator registered
// here is usable by the Plan and by prune_model like a built-in one.
#include <QTest>

#include "core/error.h"
#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/registry.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

class TestRegistry : public QObject {
    Q_OBJECT
private:
    std::vector<ps::VlmInputs> calib_;

    static ps::Plan plan(const std::string& method) {
        ps::Plan p;
        p.method = method;
        p.sparsity = 0.5;
        p.calibration.samples = 16;
        p.calibration.batch_size = 16;
        p.targets = {".*layer\\.[01]\\..*"};  // the first two blocks of each tower
        return p;
    }

    static std::vector<std::string> ids_of_methods() {
        std::vector<std::string> ids;
        for (const ps::PruneMethod& m : ps::registered_methods()) ids.push_back(m.id);
        return ids;
    }

private Q_SLOTS:
    void initTestCase() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        calib_ = ps::calibration_batches(*model, plan("wanda").calibration, 0);
    }

    void builtins_registered() {
        QCOMPARE(ids_of_methods(), (std::vector<std::string>{"magnitude", "wanda", "sparsegpt", "dsnot", "alps", "width", "depth", "comp"}));
        for (const char* id : {"width", "depth", "comp"}) {  // they remove whole structures and write their own checkpoint
            const ps::PruneMethod& m = ps::method_by_id(id);
            QVERIFY2(m.remove && !m.prune && !m.scores, id);
        }
        std::vector<std::string> allocators;
        for (const ps::Allocator& a : ps::registered_allocators()) {
            allocators.push_back(a.id);
            QCOMPARE(a.origin, std::string("built-in"));
            QVERIFY2(!a.display.empty() && !a.description.empty() && a.allocate, a.id.c_str());
        }
        QCOMPARE(allocators,
                 (std::vector<std::string>{"uniform", "modality", "ecoflap", "ecoflap-first-order", "owl", "sensitivity"}));
        const ps::PruneMethod& magnitude = ps::method_by_id("magnitude");
        const ps::PruneMethod& wanda = ps::method_by_id("wanda");
        const ps::PruneMethod& sparsegpt = ps::method_by_id("sparsegpt");
        for (const ps::PruneMethod* m : {&magnitude, &wanda, &sparsegpt}) {
            QCOMPARE(m->origin, std::string("built-in"));
            QVERIFY2(!m->display.empty() && !m->description.empty() && m->prune, m->id.c_str());
        }
        QVERIFY(!magnitude.needs_column_norms && !magnitude.needs_gram);
        QVERIFY(wanda.needs_column_norms && !wanda.needs_gram);
        QVERIFY(!sparsegpt.needs_column_norms && sparsegpt.needs_gram);
        QCOMPARE(ps::method_ids(), std::string("magnitude, wanda, sparsegpt, dsnot, alps, width, depth, comp"));
    }

    void compare_groups() {
        const ps::PruneMethod& magnitude = ps::method_by_id("magnitude");
        const ps::PruneMethod& wanda = ps::method_by_id("wanda");
        using G = ps::CompareGroup;
        QVERIFY(ps::compare_group_for(magnitude, "auto", ps::Modality::Language) == G::Matrix);
        QVERIFY(ps::compare_group_for(wanda, "auto", ps::Modality::Language) == G::Row);
        QVERIFY(ps::compare_group_for(wanda, "auto", ps::Modality::Vision) == G::Matrix);
        QVERIFY(ps::compare_group_for(magnitude, "row", ps::Modality::Vision) == G::Row);
        QVERIFY(ps::compare_group_for(wanda, "matrix", ps::Modality::Language) == G::Matrix);
    }

    void unknown_ids() {
        QVERIFY(!ps::find_method("nope") && !ps::find_allocator("nope"));
        const QString m = ps_test::error_of([] { ps::method_by_id("nope"); });
        QVERIFY2(m.startsWith("pruning method: \"nope\" is not registered (known: magnitude, wanda, sparsegpt"), qPrintable(m));
        const QString a = ps_test::error_of([] { ps::allocator_by_id("global"); });
        QVERIFY2(a.startsWith("allocation: \"global\" is not registered (known: uniform, modality"), qPrintable(a));
        const QString p = ps_test::error_of([] { ps::Plan::from_json({{"allocation", {{"kind", "global"}}}}, "p.json"); });
        QVERIFY2(p.startsWith("p.json: allocation.kind: \"global\" is not a registered allocation (uniform, modality, ecoflap"),
                 qPrintable(p));
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Plan bad = plan("nope");
        const QString run = ps_test::error_of([&] { ps::prune_model(*model, bad, ps::allocate(bad, model->map()), calib_, {}); });
        QVERIFY2(run.startsWith("pruning method: \"nope\" is not registered"), qPrintable(run));
    }

    void bad_registrations() {
        const auto score = [](const ps::LayerInput& in) { return in.weight.abs(); };
        ps::PruneMethod m;
        m.scores = score;
        QVERIFY(ps_test::error_of([&] { ps::register_method(m); }).contains("the id is empty"));
        m.id = "wanda";
        QCOMPARE(ps_test::error_of([&] { ps::register_method(m); }), QString("pruning method \"wanda\": already registered"));
        m.id = "test-both";
        m.prune = [](const ps::LayerInput& in) { return ps::PruneOutcome{in.weight, at::zeros_like(in.weight, at::kBool)}; };
        QVERIFY(ps_test::error_of([&] { ps::register_method(m); }).contains("exactly one of a score function and a prune function"));
        // Options: a section another method reads, a key of the Plan itself, a default outside its own range.
        ps::PruneMethod o;
        o.id = "test-options";
        o.scores = score;
        o.options = {ps::MethodOption::number("x", 0.5, 0.0, 1.0, "an option")};
        o.section = "sparsegpt";
        QCOMPARE(ps_test::error_of([&] { ps::register_method(o); }),
                 QString("pruning method \"test-options\": its options section \"sparsegpt\" is method sparsegpt's"));
        o.section = "sparsity";
        QVERIFY(ps_test::error_of([&] { ps::register_method(o); }).contains("\"sparsity\" is a key of the Plan itself"));
        o.section.clear();
        o.options = {ps::MethodOption::number("x", 2.0, 0.0, 1.0, "an option")};
        QCOMPARE(ps_test::error_of([&] { ps::register_method(o); }),
                 QString("pruning method \"test-options\": test-options.x: must be in [0, 1]"));
        QVERIFY(!ps::find_method("test-options"));
        m.scores = nullptr;
        m.prune = nullptr;
        QVERIFY(ps_test::error_of([&] { ps::register_method(m); }).contains("exactly one"));
        ps::Allocator a;
        a.id = "owl";
        a.allocate = [](ps::Vlm&, const ps::PruneOptions&, const ps::SparsityMap& s, const std::vector<ps::VlmInputs>&,
                        const ps::JobControl&) { return s; };
        QCOMPARE(ps_test::error_of([&] { ps::register_allocator(a); }), QString("allocation \"owl\": already registered"));
        a.id = "test-none";
        a.allocate = nullptr;
        QVERIFY(ps_test::error_of([&] { ps::register_allocator(a); }).contains("has no allocate function"));
        QCOMPARE(ids_of_methods(), (std::vector<std::string>{"magnitude", "wanda", "sparsegpt", "dsnot", "alps", "width", "depth", "comp"}));  // none stuck
        QVERIFY(!ps::find_allocator("test-none"));
    }

    void method_results_are_checked() {
        ps::PruneMethod m;
        m.id = "test-wrong-mask";
        m.prune = [](const ps::LayerInput& in) { return ps::PruneOutcome{in.weight, at::zeros({1}, at::kBool)}; };
        ps::register_method(m);
        m.id = "test-wrong-scores";
        m.prune = nullptr;
        m.scores = [](const ps::LayerInput& in) { return in.weight.abs().t().contiguous(); };
        ps::register_method(m);
        ps::LayerInput in;
        in.name = "layer.x";
        in.weight = at::randn({4, 8});
        in.sparsity = 0.5;
        const QString mask = ps_test::error_of([&] { ps::method_by_id("test-wrong-mask").prune(in); });
        QVERIFY2(mask.startsWith("layer.x: method \"test-wrong-mask\" returned a mask of shape [1]"), qPrintable(mask));
        const QString scores = ps_test::error_of([&] { ps::method_by_id("test-wrong-scores").prune(in); });
        QVERIFY2(scores.startsWith("layer.x: method \"test-wrong-scores\" gave scores of shape [8, 4] for a weight of shape [4, 8]"),
                 qPrintable(scores));
    }

    // A score method (largest |W| first: the opposite of magnitude) and a prune method that records
    // what it was given, both run by prune_model.
    void registered_methods_prune_through_the_pipeline() {
        ps::PruneMethod largest;
        largest.id = "test-largest";
        largest.display = "Largest first";
        largest.description = "prunes the largest weights";
        largest.scores = [](const ps::LayerInput& in) { return -in.weight.abs(); };
        ps::register_method(largest);
        QCOMPARE(ps::method_by_id("test-largest").origin, std::string("built-in"));

        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        std::map<std::string, at::Tensor> dense;
        for (const ps::LinearLayer& l : model->map().linears) dense[l.name] = model->weights().get(l.name + ".weight").clone();
        const ps::Plan p = ps::Plan::from_json({{"method", "test-largest"}, {"targets", plan("x").targets}}, "p.json");
        const ps::PruneResult r = ps::prune_model(*model, p, ps::allocate(p, model->map()), calib_, {});
        QCOMPARE(r.method, std::string("test-largest"));
        QCOMPARE(r.masks.size(), size_t(24));
        for (const ps::LinearLayer& l : model->map().linears) {
            if (!r.masks.count(l.name)) continue;
            const at::Tensor scores = -dense.at(l.name).abs();  // auto: per matrix in the vision tower, per row elsewhere
            const at::Tensor want = l.modality == ps::Modality::Vision ? ps_test::reference_matrix(scores, 0.5)
                                                                       : ps_test::reference_row(scores, 0.5);
            QVERIFY2(at::equal(r.masks.at(l.name), want), l.name.c_str());
            QVERIFY(at::equal(model->weights().get(l.name + ".weight") == 0, want));
        }

        struct Seen {
            bool norms = false, gram = false;
            nlohmann::json options;
            double sparsity = -1;
            int calls = 0;
        };
        auto seen = std::make_shared<Seen>();
        ps::PruneMethod recorder;
        recorder.id = "test-recorder";
        recorder.needs_gram = true;
        recorder.prune = [seen](const ps::LayerInput& in) {
            seen->norms = in.column_sq_norms.defined();
            seen->gram = in.gram.defined() && in.gram.size(0) == in.weight.size(1) && in.gram.size(1) == in.weight.size(1);
            seen->options = in.options;
            seen->sparsity = in.sparsity;
            ++seen->calls;
            at::Tensor mask = at::zeros(in.weight.sizes(), in.weight.options().dtype(at::kBool));
            mask.slice(1, 0, in.weight.size(1) / 2) = true;  // the first half of the columns
            return ps::PruneOutcome{in.weight.masked_fill(mask, 0), mask};
        };
        ps::register_method(recorder);
        auto fresh = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan q = plan("test-recorder");
        q.sparsity = 0.25;
        const ps::PruneResult rr = ps::prune_model(*fresh, q, ps::allocate(q, fresh->map()), calib_, {});
        QCOMPARE(seen->calls, 24);
        QVERIFY(seen->gram && !seen->norms);
        QVERIFY(seen->options.is_object() && seen->options.empty());  // the section of a method that declares no options
        QCOMPARE(seen->sparsity, 0.25);
        for (const ps::TensorResult& t : rr.tensors) QCOMPARE(t.achieved, 0.5);  // what the method did, not the target
    }

    void registered_allocator_is_usable_by_a_plan() {
        ps::Allocator half;
        half.id = "test-half";
        half.allocate = [](ps::Vlm&, const ps::PruneOptions&, const ps::SparsityMap& start, const std::vector<ps::VlmInputs>&,
                           const ps::JobControl&) {
            ps::SparsityMap out = start;
            for (auto& [name, s] : out) s /= 2;
            return out;
        };
        ps::register_allocator(half);
        const ps::Plan p =
            ps::Plan::from_json({{"sparsity", 0.6}, {"allocation", {{"kind", "test-half"}}}, {"targets", plan("x").targets}}, "p");
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::SparsityMap start = ps::allocate(p, model->map());
        const ps::SparsityMap a = ps::allocator_by_id(p.allocation.kind).allocate(*model, p, start, calib_, {});
        QCOMPARE(a.size(), start.size());
        for (const auto& [name, s] : a) QCOMPARE(s, 0.3);
        for (const char* kind : {"uniform", "modality"})
            QVERIFY(ps::allocator_by_id(kind).allocate(*model, p, start, calib_, {}) == start);
    }
};

QTEST_APPLESS_MAIN(TestRegistry)
#include "test_registry.moc"
