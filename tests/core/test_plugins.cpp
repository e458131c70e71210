// Plugins: the RIA plugin the build makes loads and registers "ria" with its file as the origin;
// its masks equal an RIA reference computed here with plain torch ops, on made-up matrices and
// through prune_model on the default model; bad plugin files give one warning each, naming them.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include "core/prune/allocation.h"
#include "core/prune/calibration.h"
#include "core/prune/pipeline.h"
#include "core/prune/plugins.h"
#include "core/prune/registry.h"
#include "tests/core/input_norms_reference.h"
#include "tests/core/mask_reference.h"
#include "tests/test_support.h"

namespace {

// RIA's score in float64: (|W_ij| / Σ_j' |W_ij'| + |W_ij| / Σ_i' |W_i'j|) · (sqrt(a_j))^0.5.
at::Tensor ria_reference(const at::Tensor& weight, const at::Tensor& column_sq_norms) {
    const at::Tensor w = weight.to(at::kDouble).abs();
    const at::Tensor relative = w / w.sum(1).unsqueeze(1) + w / w.sum(0).unsqueeze(0);
    return relative * at::pow(column_sq_norms.to(at::kDouble).sqrt(), 0.5).unsqueeze(0);
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
        for (const auto& [name, mask] : r.masks) {
            const at::Tensor want = ps_test::reference_row(ria_reference(dense.at(name), norms.at(name)), 0.5);
            const int64_t differ = (want != mask).sum().item<int64_t>();
            QVERIFY2(differ == 0, qPrintable(QString("%1: %2 entries differ").arg(name.c_str()).arg(differ)));
        }
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
