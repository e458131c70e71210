// Plugins: the RIA plugin the build makes loads and registers "ria" with its file as the origin;
// its masks equal an RIA reference computed here with plain torch ops, on made-up matrices and
// through prune_model on the default model, at the default activation exponent and at the one a
// Plan's "ria" section sets; bad plugin files give one warning each, naming them.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include "core/job/plan.h"
#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/plugins.h"
#include "core/prune/registry.h"
#include "tests/core/input_norms_reference.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

namespace {

// RIA's score in float64: (|W_ij| / Σ_j' |W_ij'| + |W_ij| / Σ_i' |W_i'j|) · (sqrt(a_j))^exponent.
at::Tensor ria_reference(const at::Tensor& weight, const at::Tensor& column_sq_norms, double exponent = 0.5) {
    const at::Tensor w = weight.to(at::kDouble).abs();
    const at::Tensor relative = w / w.sum(1).unsqueeze(1) + w / w.sum(0).unsqueeze(0);
    return relative * at::pow(column_sq_norms.to(at::kDouble).sqrt(), exponent).unsqueeze(0);
}

}  // namespace

class TestPlugins : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    static const ps::PruneMethod& ria() {
        const ps::PruneMethod* m = ps::find_method("ria");
        if (!m) throw ps::Error("ria", "the plugin is not loaded");
        return *m;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void loads_the_ria_plugin() {
        QVERIFY(!ps::find_method("ria"));
        const ps::PluginLoadReport r = ps::load_plugins({PS_RIA_PLUGIN});
        QVERIFY2(r.warnings.empty(), r.warnings.empty() ? "" : r.warnings[0].c_str());
        QCOMPARE(r.loaded, std::vector<std::string>{PS_RIA_PLUGIN});
        const ps::PruneMethod& m = ria();
        QCOMPARE(m.origin, std::string(PS_RIA_PLUGIN));
        QVERIFY(m.needs_column_norms && !m.needs_gram);
        QVERIFY(m.auto_compare && *m.auto_compare == ps::CompareGroup::Row);
        QVERIFY(!m.description.empty() && m.display.rfind("RIA", 0) == 0);
        // Loaded once: again, by file or by its folder, adds nothing and warns of nothing.
        const ps::PluginLoadReport again =
            ps::load_plugins({PS_RIA_PLUGIN, QFileInfo(PS_RIA_PLUGIN).absolutePath().toStdString()});
        QVERIFY(again.loaded.empty() && again.warnings.empty());
    }

    void ria_masks_equal_the_reference() {
        at::manual_seed(3);
        const at::Tensor w = at::randn({24, 64});
        const at::Tensor a = at::rand({64}) * 4 + 0.01;
        const at::Tensor ref = ria_reference(w, a);
        ps::LayerInput in;
        in.name = "w";
        in.weight = w;
        in.column_sq_norms = a;
        for (double s : {0.3, 0.5, 0.7}) {
            in.sparsity = s;
            in.group = ps::CompareGroup::Row;
            const ps::PruneOutcome row = ria().prune(in);
            QVERIFY2(at::equal(row.mask, ps_test::reference_row(ref, s)), qPrintable(QString::number(s)));
            QVERIFY(at::equal(row.weight, w.masked_fill(row.mask, 0)));
            in.group = ps::CompareGroup::Matrix;
            QVERIFY(at::equal(ria().prune(in).mask, ps_test::reference_matrix(ref, s)));
        }
        in.pattern = ps::SparsityPattern::parse("2:4");
        QVERIFY(at::equal(ria().prune(in).mask, ps_test::reference_nm(ref, 2, 4)));
        // without the statistics it needs: a one-line error naming the tensor
        in.column_sq_norms = at::Tensor();
        QVERIFY(ps_test::error_of([&] { ria().prune(in); }).startsWith("w: RIA needs the input column norms"));
    }

    // The exponent is a declared option: the registry lists it, a LayerInput's options set it, a
    // Plan's "ria" section reaches it, and a value out of range is refused naming the field.
    void ria_exponent_is_an_option() {
        const ps::PruneMethod& m = ria();
        QCOMPARE(m.options.size(), size_t(1));
        QCOMPARE(m.options[0].name, std::string("exponent"));
        QCOMPARE(m.options[0].value.get<double>(), 0.5);
        at::manual_seed(5);
        const at::Tensor w = at::randn({24, 64});
        const at::Tensor a = at::rand({64}) * 4 + 0.01;
        ps::LayerInput in;
        in.name = "w";
        in.weight = w;
        in.column_sq_norms = a;
        in.sparsity = 0.5;
        in.group = ps::CompareGroup::Row;
        const at::Tensor half = ria().prune(in).mask;  // no options given: the default
        QVERIFY(at::equal(half, ps_test::reference_row(ria_reference(w, a, 0.5), 0.5)));
        in.options = {{"exponent", 1.0}};
        const at::Tensor one = ria().prune(in).mask;
        QVERIFY(at::equal(one, ps_test::reference_row(ria_reference(w, a, 1.0), 0.5)));
        QVERIFY(!at::equal(one, half));

        QCOMPARE(ps::Plan::from_json({{"method", "ria"}}, "p.json").method_options("ria").at("exponent").get<double>(), 0.5);
        const ps::Plan p = ps::Plan::from_json({{"method", "ria"}, {"ria", {{"exponent", 1.0}}}}, "p.json");
        QCOMPARE(p.method_options("ria").at("exponent").get<double>(), 1.0);
        QCOMPARE(ps::Plan::from_json(p.to_json(), "q.json").method_options("ria").at("exponent").get<double>(), 1.0);
        const QString out_of_range = ps_test::error_of([] { ps::Plan::from_json({{"ria", {{"exponent", -1}}}}, "p.json"); });
        QVERIFY2(out_of_range.startsWith("p.json: ria.exponent: must be in [0, 4]"), qPrintable(out_of_range));
        const QString unknown = ps_test::error_of([] { ps::Plan::from_json({{"ria", {{"power", 1}}}}, "p.json"); });
        QVERIFY2(unknown.startsWith("p.json: ria.power: unknown field"), qPrintable(unknown));
    }

    // Block 0 of each tower sees the dense model's inputs, so a_j comes from a plain forward pass.
    void ria_through_the_pipeline() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::Plan p;
        p.method = "ria";
        p.sparsity = 0.5;
        p.targets = {".*layer\\.0\\..*"};
        p.calibration.samples = 16;
        p.calibration.batch_size = 8;
        const auto calib = ps::calibration_batches(*model, p.calibration, 0);
        std::map<std::string, at::Tensor> dense;
        const ps::SparsityMap targets = ps::allocate(p, model->map());
        for (const auto& [name, s] : targets) dense[name] = model->weights().get(name + ".weight").clone();
        const std::map<std::string, at::Tensor> norms = ps_test::reference_column_sq_norms(*model, targets, calib);

        const ps::PruneResult r = ps::prune_model(*model, p, targets, calib, {});
        QCOMPARE(r.method, std::string("ria"));
        QCOMPARE(r.masks.size(), size_t(12));
        // A Plan setting the exponent to 1.0: masks of that exponent's reference, unlike the default's.
        ps::Plan one = ps::Plan::from_json({{"method", "ria"}, {"ria", {{"exponent", 1.0}}}}, "p.json");
        one.sparsity = p.sparsity;
        one.targets = p.targets;
        auto dense_model = ps::Vlm::load(PS_DEFAULT_MODEL);  // the first run left its pruned weights in `model`
        const ps::PruneResult r1 = ps::prune_model(*dense_model, one, targets, calib, {});
        int64_t changed = 0;
        for (const auto& [name, mask] : r.masks) {
            for (const auto& [exponent, masks] : {std::pair{0.5, &r.masks}, std::pair{1.0, &r1.masks}}) {
                const at::Tensor want = ps_test::reference_row(ria_reference(dense.at(name), norms.at(name), exponent), 0.5);
                const int64_t differ = (want != masks->at(name)).sum().item<int64_t>();
                QVERIFY2(differ == 0, qPrintable(QString("%1 at exponent %2: %3 entries differ").arg(name.c_str()).arg(exponent).arg(differ)));
            }
            changed += (r1.masks.at(name) != mask).sum().item<int64_t>();
        }
        QVERIFY2(changed > 0, "exponent 1.0 gave the masks of the default 0.5");
    }

    void bad_plugin_files_warn() {
        const QString dir = tmp_.filePath("plugins");
        QVERIFY(QDir().mkpath(dir));
        ps_test::write_bytes(dir + "/broken.so", "not a shared library");
        ps_test::write_bytes(dir + "/readme.txt", "ignored: not a .so file");
        const std::string missing = tmp_.filePath("missing.so").toStdString();
        const ps::PluginLoadReport r = ps::load_plugins({dir.toStdString(), missing});
        QVERIFY(r.loaded.empty());
        QCOMPARE(r.warnings.size(), size_t(2));
        const std::string broken = (dir + "/broken.so").toStdString();
        QVERIFY2(r.warnings[0].rfind(broken + ": ", 0) == 0 && r.warnings[0].size() > broken.size() + 2, r.warnings[0].c_str());
        QVERIFY2(r.warnings[1] == missing + ": No such file or directory", r.warnings[1].c_str());
        for (const std::string& w : r.warnings) QVERIFY(w.find('\n') == std::string::npos);
    }

    void search_path() {
        using V = std::vector<std::string>;
        QCOMPARE(ps::plugin_search_path("/a:b.so::/c/", "/x"), (V{"/a", "b.so", "/c/"}));
        QCOMPARE(ps::plugin_search_path("", "/x"), V{});  // set but empty: no plugins
        const QString root = tmp_.filePath("install");
        QVERIFY(QDir().mkpath(root + "/bin"));
        QCOMPARE(ps::plugin_search_path(nullptr, (root + "/bin").toStdString()), V{});
        QVERIFY(QDir().mkpath(root + "/plugins"));  // the build's layout: <build>/app and <build>/plugins
        QCOMPARE(ps::plugin_search_path(nullptr, (root + "/bin").toStdString()), V{(root + "/plugins").toStdString()});
        QVERIFY(QDir().mkpath(root + "/bin/plugins"));
        QCOMPARE(ps::plugin_search_path(nullptr, (root + "/bin").toStdString()),
                 (V{(root + "/bin/plugins").toStdString(), (root + "/plugins").toStdString()}));
        QVERIFY(QDir().mkpath(root + "/lib/prunestudio/plugins"));  // an installed package's layout
        QCOMPARE(ps::plugin_search_path(nullptr, (root + "/bin").toStdString()),
                 (V{(root + "/bin/plugins").toStdString(), (root + "/plugins").toStdString(),
                    (root + "/lib/prunestudio/plugins").toStdString()}));
    }
};

QTEST_APPLESS_MAIN(TestPlugins)
#include "test_plugins.moc"
