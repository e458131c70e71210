// core/prune (SparseGPT, its Hessian, sparsity patterns) against tests/python/sparsegpt_reference.py,
// a plain PyTorch implementation of the published algorithm, plus exact mask counts and input checks.
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/prune/hessian.h"
#include "core/prune/pattern.h"
#include "core/prune/sparsegpt.h"
#include "tests/test_support.h"

namespace {

using at::indexing::Slice;

struct Layer {
    std::string name;
    at::Tensor weight;               // [rows, cols]
    std::vector<at::Tensor> inputs;  // calibration batches [B, T, cols]
    std::vector<int64_t> dead;       // input features that are zero in every batch
};

struct Case {
    std::string name, layer;
    double sparsity;
    ps::SparsityPattern pattern;
    int64_t blocksize;
};

Layer make_layer(const std::string& name, int64_t rows, int64_t cols, std::vector<int64_t> dead, uint64_t seed) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    Layer l{name, at::randn({rows, cols}, gen), {}, std::move(dead)};
    const at::Tensor scale = at::rand({cols}, gen) + 0.5;  // features of uneven size
    const at::Tensor dead_idx = at::tensor(l.dead, at::kLong);
    for (int b = 0; b < 2; ++b) {
        at::Tensor x = at::randn({4, 64, cols}, gen) * scale;
        x.index_fill_(2, dead_idx, 0.0);
        l.inputs.push_back(x);
    }
    return l;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Pruned entries of the columns [i1, i2): cumulative counts, so that a block gets
// floor(s * rows * i2) - floor(s * rows * i1) and the matrix floor(s * rows * cols).
int64_t expected_pruned(int64_t rows, double sparsity, int64_t i1, int64_t i2) {
    return static_cast<int64_t>(sparsity * static_cast<double>(rows * i2)) -
           static_cast<int64_t>(sparsity * static_cast<double>(rows * i1));
}

}  // namespace

class TestSparseGpt : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::vector<Layer> layers_;
    std::vector<Case> cases_;
    std::map<std::string, at::Tensor> cpp_hessian_;      // by layer
    std::map<std::string, ps::PruneOutcome> cpp_;        // by case
    std::map<std::string, at::Tensor> py_;               // the reference's output file
    std::map<std::string, at::Tensor> weights_before_;   // copies of the inputs, by layer

    const Layer& layer(const std::string& name) const {
        return *std::find_if(layers_.begin(), layers_.end(), [&](const Layer& l) { return l.name == name; });
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        layers_.push_back(make_layer("a", 64, 256, {3, 37, 130, 201}, 1234));
        layers_.push_back(make_layer("b", 48, 200, {0, 77, 199}, 99));
        const ps::SparsityPattern u{}, p24 = ps::SparsityPattern::parse("2:4"), p48 = ps::SparsityPattern::parse("4:8");
        cases_ = {{"a_u50", "a", 0.5, u, 128},   {"a_u70", "a", 0.7, u, 128},     {"a_24", "a", 0.0, p24, 128},
                  {"a_48", "a", 0.0, p48, 128},  {"b_u50_bs64", "b", 0.5, u, 64}, {"b_u37_bs64", "b", 0.37, u, 64},
                  {"b_24_bs64", "b", 0.0, p24, 64}};

        ps::NamedTensors file;
        nlohmann::json layer_names = nlohmann::json::array(), cases = nlohmann::json::array();
        for (const Layer& l : layers_) {
            layer_names.push_back(l.name);
            file.emplace_back(l.name + ".weight", l.weight);
            for (size_t b = 0; b < l.inputs.size(); ++b) file.emplace_back(l.name + ".x" + std::to_string(b), l.inputs[b]);
        }
        for (const Case& c : cases_)
            cases.push_back({{"name", c.name}, {"layer", c.layer}, {"sparsity", c.sparsity}, {"n", c.pattern.n},
                             {"m", c.pattern.m}, {"blocksize", c.blocksize}, {"percdamp", 0.01}});
        const QString in = tmp_.filePath("layers.safetensors"), out = tmp_.filePath("reference.safetensors");
        ps::save_safetensors(in.toStdString(), file, {{"layers", layer_names.dump()}, {"cases", cases.dump()}});

        // One Python start for every case.
        const auto r = ps_test::run_python("sparsegpt_reference.py", {in, out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        for (auto& [name, t] : ps::load_safetensors(out.toStdString())) py_[name] = t.clone();

        for (const Layer& l : layers_) {
            weights_before_[l.name] = l.weight.clone();
            ps::HessianAccumulator acc(l.weight.size(1));
            for (const at::Tensor& x : l.inputs) acc.add(x);
            QCOMPARE(acc.samples(), int64_t(8));
            cpp_hessian_[l.name] = acc.matrix().clone();
        }
        for (const Case& c : cases_) {
            ps::SparseGptOptions opt;
            opt.blocksize = c.blocksize;
            cpp_[c.name] = ps::sparsegpt_prune(layer(c.layer).weight, cpp_hessian_[c.layer], c.sparsity, c.pattern, opt);
        }
    }

    void hessian_matches_reference() {
        for (const Layer& l : layers_) {
            const at::Tensor& ref = py_.at(l.name + ".hessian");
            const double rel = max_abs_diff(cpp_hessian_[l.name], ref) / ref.abs().max().item<double>();
            qInfo("layer %s: Hessian max relative difference %.3g", l.name.c_str(), rel);
            QVERIFY2(rel <= 1e-6, l.name.c_str());
            // Dead features give zero rows and columns.
            for (int64_t j : l.dead) QCOMPARE(cpp_hessian_[l.name][j].abs().max().item<double>(), 0.0);
        }
    }

    void prune_matches_reference() {
        for (const Case& c : cases_) {
            const ps::PruneOutcome& got = cpp_[c.name];
            const at::Tensor& ref_w = py_.at(c.name + ".weight");
            const at::Tensor& ref_m = py_.at(c.name + ".mask");
            QCOMPARE(got.weight.sizes().vec(), ref_w.sizes().vec());
            QVERIFY(got.weight.scalar_type() == at::kFloat);
            QVERIFY(got.mask.scalar_type() == at::kBool);
            const double diff = max_abs_diff(got.weight, ref_w);
            qInfo("case %s: weight max abs difference %.3g (max |w| %.3g), %lld mask entries differ", c.name.c_str(),
                  diff, ref_w.abs().max().item<double>(), static_cast<long long>((got.mask != ref_m).sum().item<int64_t>()));
            QVERIFY2(at::equal(got.mask, ref_m), c.name.c_str());
            QVERIFY2(diff <= 1e-5, c.name.c_str());
        }
    }

    void exact_counts() {
        for (const Case& c : cases_) {
            const ps::PruneOutcome& got = cpp_[c.name];
            const Layer& l = layer(c.layer);
            const int64_t rows = got.weight.size(0), cols = got.weight.size(1);
            // The mask is exactly where the weight is zero, and dead columns are zero and masked.
            QVERIFY2(at::equal(got.mask, got.weight == 0), c.name.c_str());
            for (int64_t j : l.dead) QVERIFY2(got.mask.select(1, j).all().item<bool>(), c.name.c_str());
            if (c.pattern.is_nm()) {
                const at::Tensor per_group = (got.weight == 0).reshape({rows, cols / c.pattern.m, c.pattern.m}).sum(2);
                QVERIFY2((per_group == c.pattern.n).all().item<bool>(), c.name.c_str());
                QCOMPARE(got.mask.sum().item<int64_t>(), rows * cols / c.pattern.m * c.pattern.n);
            } else {
                QCOMPARE(got.mask.sum().item<int64_t>(), expected_pruned(rows, c.sparsity, 0, cols));
                QCOMPARE(got.mask.sum().item<int64_t>(), static_cast<int64_t>(c.sparsity * static_cast<double>(rows * cols)));
                for (int64_t i1 = 0; i1 < cols; i1 += c.blocksize) {
                    const int64_t i2 = std::min(i1 + c.blocksize, cols);
                    QCOMPARE(got.mask.index({Slice(), Slice(i1, i2)}).sum().item<int64_t>(), expected_pruned(rows, c.sparsity, i1, i2));
                }
            }
        }
    }

    void inputs_unchanged() {
        for (const Layer& l : layers_) QVERIFY2(at::equal(l.weight, weights_before_[l.name]), l.name.c_str());
        // The Hessian given to the pruner is not written either (its dead diagonal stays 0).
        const Layer& l = layers_[0];
        const at::Tensor h = cpp_hessian_[l.name].clone();
        ps::sparsegpt_prune(l.weight, h, 0.5, {});
        QVERIFY(at::equal(h, cpp_hessian_[l.name]));
    }

    // A Hessian handed over to be overwritten gives the same bits, and is dampened and factored in
    // its own memory (so it changes); one that is not float32 is copied all the same.
    void overwritten_hessian_same_result() {
        for (const Case& c : cases_) {
            ps::SparseGptOptions opt;
            opt.blocksize = c.blocksize;
            const at::Tensor given = cpp_hessian_[c.layer].clone();
            const ps::PruneOutcome got = ps::sparsegpt_prune(layer(c.layer).weight, given, c.sparsity, c.pattern, opt, true);
            QVERIFY2(at::equal(got.weight, cpp_[c.name].weight), c.name.c_str());
            QVERIFY2(at::equal(got.mask, cpp_[c.name].mask), c.name.c_str());
            QVERIFY2(!at::equal(given, cpp_hessian_[c.layer]), c.name.c_str());
        }
        const Layer& l = layers_[1];
        const at::Tensor as_double = cpp_hessian_[l.name].to(at::kDouble), before = as_double.clone();
        (void)ps::sparsegpt_prune(l.weight, as_double, 0.5, {}, {}, true);
        QVERIFY(at::equal(as_double, before));
    }

    void keeps_dtype_and_zero_sparsity() {
        const Layer& l = layers_[1];
        const at::Tensor h = cpp_hessian_[l.name];
        const ps::PruneOutcome half = ps::sparsegpt_prune(l.weight.to(at::kBFloat16), h.to(at::kDouble), 0.5, {});
        QVERIFY(half.weight.scalar_type() == at::kBFloat16);
        QCOMPARE(half.weight.sizes().vec(), l.weight.sizes().vec());
        QVERIFY(at::equal(half.mask, half.weight == 0));
        // Sparsity 0 prunes nothing: the weights only lose their dead columns.
        const ps::PruneOutcome none = ps::sparsegpt_prune(l.weight, h, 0.0, {});
        at::Tensor expect = l.weight.clone();
        for (int64_t j : l.dead) expect.select(1, j).zero_();
        QCOMPARE(none.mask.sum().item<int64_t>(), int64_t(0));
        QVERIFY(at::equal(none.weight, expect));
    }

    void hessian_sample_counting() {
        // A 2-d batch is one sample; a 3-d batch counts its first dimension. H = (2/n) sum x x^T.
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
        const at::Tensor a = at::randn({5, 6}, gen, at::kDouble), b = at::randn({3, 2, 6}, gen, at::kDouble);
        ps::HessianAccumulator acc(6);
        acc.add(a.to(at::kHalf).to(at::kDouble));
        acc.add(b.to(at::kBFloat16));
        QCOMPARE(acc.samples(), int64_t(4));
        const at::Tensor rows = at::cat({a.to(at::kHalf).to(at::kDouble), b.to(at::kBFloat16).to(at::kDouble).reshape({-1, 6})});
        const at::Tensor expect = rows.t().matmul(rows) * (2.0 / 4.0);
        QVERIFY(max_abs_diff(acc.matrix(), expect) <= 1e-5 * expect.abs().max().item<double>());
        QVERIFY(acc.matrix().scalar_type() == at::kFloat);
        QVERIFY_THROWS_EXCEPTION(ps::Error, acc.add(at::zeros({4, 5})));
        QVERIFY_THROWS_EXCEPTION(ps::Error, acc.add(at::zeros({6})));
        QVERIFY_THROWS_EXCEPTION(ps::Error, acc.add(at::zeros({4, 6}, at::kLong)));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::HessianAccumulator(0));
    }

    void rejects_bad_input() {
        const Layer& l = layers_[0];
        const at::Tensor& h = cpp_hessian_[l.name];
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 1.0, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, -0.1, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, std::nan(""), {}));
        ps::SparsityPattern bad;
        bad.n = 4;
        bad.m = 4;
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, bad));
        bad.n = 0;
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, bad));
        // M not dividing the columns: 256 % 3 != 0, and 200 % 16 != 0.
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, ps::SparsityPattern::parse("1:3")));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(layers_[1].weight, cpp_hessian_["b"], 0.5,
                                                                 ps::SparsityPattern::parse("8:16")));
        // Hessian of the wrong shape.
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h.index({Slice(0, 255), Slice(0, 255)}), 0.5, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h.index({Slice(0, 255)}), 0.5, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h.unsqueeze(0), 0.5, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight.t(), h, 0.5, {}));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight[0], h, 0.5, {}));
        // Options.
        ps::SparseGptOptions opt;
        opt.blocksize = 0;
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, {}, opt));
        opt.blocksize = 6;  // not a multiple of 4
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, ps::SparsityPattern::parse("2:4"), opt));
        opt.blocksize = 128;
        opt.percdamp = -1;
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(l.weight, h, 0.5, {}, opt));
        // Not positive definite even after dampening: a clear error, not a torch exception.
        const at::Tensor indefinite = at::tensor({1.0f, 2.0f, 2.0f, 1.0f}).reshape({2, 2});
        try {
            ps::sparsegpt_prune(at::ones({3, 2}), indefinite, 0.5, {});
            QFAIL("no error for an indefinite Hessian");
        } catch (const ps::Error& e) {
            QVERIFY2(std::string(e.what()).find("percdamp") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(at::ones({3, 2}), -at::eye(2), 0.5, {}));
        const at::Tensor nan_h = at::eye(2) * std::nan("");
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::sparsegpt_prune(at::ones({3, 2}), nan_h, 0.5, {}));
        // One non-finite entry anywhere, of either sign, in the weight or the Hessian.
        at::Tensor inf_w = at::ones({3, 2});
        inf_w[2][1] = std::numeric_limits<float>::infinity();
        at::Tensor minus_inf_h = at::eye(2);
        minus_inf_h[0][1] = -std::numeric_limits<float>::infinity();
        for (const auto& [w, h] : {std::pair{inf_w, at::eye(2)}, std::pair{at::ones({3, 2}), minus_inf_h}}) {
            try {
                ps::sparsegpt_prune(w, h, 0.5, {});
                QFAIL("no error for a non-finite entry");
            } catch (const ps::Error& e) {
                QVERIFY2(std::string(e.what()).find("NaN or infinite") != std::string::npos, e.what());
            }
        }
    }

    void pattern_parsing() {
        const ps::SparsityPattern u = ps::SparsityPattern::parse("unstructured");
        QVERIFY(!u.is_nm());
        QCOMPARE(u.name(), std::string("unstructured"));
        const ps::SparsityPattern p = ps::SparsityPattern::parse("2:4");
        QVERIFY(p.is_nm());
        QCOMPARE(p.n, 2);
        QCOMPARE(p.m, 4);
        QCOMPARE(p.name(), std::string("2:4"));
        QCOMPARE(ps::SparsityPattern::parse("4:8").name(), std::string("4:8"));
        for (const char* bad : {"4:4", "5:4", "0:4", "2:", ":4", "2:4x", "-1:4", "a:b", " 2:4", "2/4", "", "Unstructured",
                                "2:4:8", "99999999:100000000"})
            QVERIFY_THROWS_EXCEPTION(ps::Error, ps::SparsityPattern::parse(bad));
        ps::check_pattern(p, 8, "w");
        ps::check_pattern(u, 7, "w");
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::check_pattern(p, 6, "w"));
        try {
            ps::check_pattern(p, 6, "layers.0.q_proj.weight");
            QFAIL("no error");
        } catch (const ps::Error& e) {
            QVERIFY2(std::string(e.what()).rfind("layers.0.q_proj.weight: ", 0) == 0, e.what());
        }
        ps::check_sparsity(0.0, "x");
        ps::check_sparsity(0.99, "x");
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::check_sparsity(1.0, "x"));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::check_sparsity(-0.1, "x"));
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::check_sparsity(std::nan(""), "x"));
    }
};

QTEST_APPLESS_MAIN(TestSparseGpt)
#include "test_sparsegpt.moc"
