// SparseLoRA on the default model: a merged student keeps exactly the pruned mask (masked
// positions bitwise +0, the pruned nonzero count) while plain LoRA's merge fills the mask in; the
// student's forward is the merged weights' forward; with B = 0 it is the pruned model; without its
// adapter the store is the dense model again; its hand-written gradients equal autograd's; weights changed beyond the mask (SparseGPT) are kept;
// bad pruned checkpoints are named.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/tensor_view.h"
#include "core/prune/calibration.h"
#include "core/recover/sparse_lora.h"

class TestSparseLora : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::vector<ps::VlmInputs> batches_;

    // A random 50 % mask on every prunable Linear of the blocks, the pruned weight W ⊙ M.
    static ps::PrunedLinears random_masks(const ps::Vlm& model, uint64_t seed) {
        at::Generator gen = at::detail::createCPUGenerator(seed);
        ps::PrunedLinears out;
        for (const ps::LinearLayer& l : model.map().linears) {
            if (!l.prunable || l.block < 0) continue;
            ps::PrunedLinear p;
            p.keep = at::rand({l.out_features, l.in_features}, gen) >= 0.5;
            out.emplace(l.name, std::move(p));
        }
        return out;
    }

    // Gives every LoRA B random values, as training would.
    static void perturb(const ps::Student& s, uint64_t seed) {
        at::NoGradGuard no_grad;
        at::Generator gen = at::detail::createCPUGenerator(seed);
        for (const auto& [name, p] : s.parameters())
            if (name.size() > 7 && name.compare(name.size() - 7, 7, ".lora_B") == 0) p.normal_(0, 0.02, gen);
    }

    static ps::StudentOptions options(ps::RecoveryMode mode) {
        ps::StudentOptions o;
        o.mode = mode;
        o.dropout = 0;
        o.seed = 5;
        return o;
    }

    static bool bitwise_zero(const at::Tensor& t) { return t.contiguous().view(at::kInt).eq(0).all().item<bool>(); }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        ps::CalibrationOptions c;
        c.samples = 8;
        c.batch_size = 8;
        batches_ = ps::calibration_batches(*model, c, 3);
    }

    void merge_keeps_the_mask_exactly() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::WeightStore& w = model->weights();
        for (ps::RecoveryMode mode : {ps::RecoveryMode::SparseLora, ps::RecoveryMode::Lora}) {
            const ps::Student s(*model, random_masks(*model, 1), options(mode));
            QCOMPARE(s.parameters().size(), 2 * s.pruned().size());  // every masked Linear is in a tower with a rank
            perturb(s, 2);
            int64_t pruned_nnz = 0, merged_nnz = 0, repruned_nnz = 0, filled = 0;
            for (const auto& [name, p] : s.pruned()) {
                const at::Tensor dense = w.get(name + ".weight");
                const at::Tensor merged = s.merged(name, dense);
                const at::Tensor repruned = s.merged(name, dense, true);
                pruned_nnz += s.pruned_weight(name, dense).count_nonzero().item<int64_t>();
                merged_nnz += merged.count_nonzero().item<int64_t>();
                repruned_nnz += repruned.count_nonzero().item<int64_t>();
                filled += merged.ne(0).logical_and(p.keep.logical_not()).sum().item<int64_t>();
                QVERIFY(bitwise_zero(repruned.masked_select(p.keep.logical_not())));
                if (mode == ps::RecoveryMode::SparseLora) QVERIFY(bitwise_zero(merged.masked_select(p.keep.logical_not())));
            }
            QCOMPARE(repruned_nnz, pruned_nnz);
            if (mode == ps::RecoveryMode::SparseLora) {
                QCOMPARE(merged_nnz, pruned_nnz);
                QCOMPARE(filled, int64_t(0));
            } else {  // plain LoRA's low-rank update fills nearly every pruned position
                QVERIFY(merged_nnz > pruned_nnz);
                QVERIFY(filled > pruned_nnz * 9 / 10);
            }
        }
    }

    void gradients_match_autograd() {
        // The student's Linear (frozen masked weight + SparseLoRA branch, both with hand-written
        // backward passes) against the same expression left to autograd.
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::StudentOptions opt = options(ps::RecoveryMode::SparseLora);
        const ps::Student s(*model, random_masks(*model, 1), opt);
        perturb(s, 2);
        const std::string name = s.pruned().begin()->first;
        const at::Tensor keep = s.pruned().begin()->second.keep;
        at::Tensor a, b;
        for (const auto& [n, p] : s.parameters()) {
            if (n == name + ".lora_A") a = p;
            if (n == name + ".lora_B") b = p;
        }
        QVERIFY(a.defined() && b.defined());
        const at::Tensor dense = model->weights().get(name + ".weight"), bias = model->weights().get(name + ".bias");
        at::Generator gen = at::detail::createCPUGenerator(9);
        const at::Tensor x0 = at::randn({3, 5, dense.size(1)}, gen);
        const at::Tensor r = at::randn({3, 5, dense.size(0)}, gen);

        const at::Tensor x = x0.clone().requires_grad_(true);
        (s.forward(name, x, dense, bias) * r).sum().backward();

        const at::Tensor x2 = x0.clone().requires_grad_(true), a2 = a.detach().clone().requires_grad_(true),
                         b2 = b.detach().clone().requires_grad_(true);
        const double scale = opt.alpha / static_cast<double>(a.size(0));
        const at::Tensor zero = at::zeros({}, dense.options());
        const at::Tensor y2 = at::linear(x2, at::where(keep, dense, zero), bias) + at::linear(x2, at::where(keep, at::mm(b2, a2) * scale, zero));
        (y2 * r).sum().backward();
        const auto close = [](const at::Tensor& u, const at::Tensor& v) {
            return (u - v).abs().max().item<double>() <= 1e-5 * std::max(1.0, v.abs().max().item<double>());
        };
        QVERIFY(close(x.grad(), x2.grad()));
        QVERIFY(close(a.grad(), a2.grad()));
        QVERIFY(close(b.grad(), b2.grad()));
        QVERIFY(a.grad().abs().max().item<double>() > 0);
    }

    void forward_is_the_merged_weights() {
        for (ps::RecoveryMode mode : {ps::RecoveryMode::SparseLora, ps::RecoveryMode::Lora}) {
            auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
            const ps::Student s(*model, random_masks(*model, 1), options(mode));
            perturb(s, 2);
            at::Tensor student;
            {
                const ps::StudentScope scope(*model, s);
                student = model->forward(batches_[0]).logits_per_image;
            }
            auto merged = ps::Vlm::load(PS_DEFAULT_MODEL);
            for (const std::string& name : s.linears())
                merged->weights().set(name + ".weight", s.merged(name, model->weights().get(name + ".weight")));
            const at::Tensor expected = merged->forward(batches_[0]).logits_per_image;
            QVERIFY((student - expected).abs().max().item<double>() < 1e-4 * expected.abs().max().item<double>());
        }
    }

    void fresh_student_is_the_pruned_model_and_teacher_the_dense() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::StudentOptions opt = options(ps::RecoveryMode::SparseLora);
        const ps::Student s(*model, random_masks(*model, 4), opt);
        at::Tensor student;
        {
            const ps::StudentScope scope(*model, s);
            QVERIFY(model->weights().has_linear_adapter());
            student = model->forward(batches_[0]).logits_per_image;
        }
        QVERIFY(!model->weights().has_linear_adapter());
        const at::Tensor teacher = model->forward(batches_[0]).logits_per_image;

        auto pruned = ps::Vlm::load(PS_DEFAULT_MODEL);
        for (const auto& [name, p] : s.pruned()) {
            const at::Tensor d = pruned->weights().get(name + ".weight");
            pruned->weights().set(name + ".weight", at::where(p.keep, d, at::zeros({}, d.options())));
        }
        const at::Tensor expected_student = pruned->forward(batches_[0]).logits_per_image;
        const at::Tensor dense = ps::Vlm::load(PS_DEFAULT_MODEL)->forward(batches_[0]).logits_per_image;
        QVERIFY((student - expected_student).abs().max().item<double>() < 1e-6);
        QVERIFY(at::equal(teacher, dense));
        QVERIFY((student - dense).abs().max().item<double>() > 1e-2);  // the masks do change the model
    }

    void pruned_checkpoint_round_trip() {
        // A pruned checkpoint whose weights changed beyond the mask keeps them (SparseGPT's
        // updates); one that is plain W ⊙ M derives them from the dense weights.
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::WeightStore& w = model->weights();
        const std::string dir = tmp_.filePath("pruned").toStdString();
        std::filesystem::create_directories(dir);
        std::filesystem::copy_file(std::string(PS_DEFAULT_MODEL) + "/config.json", dir + "/config.json");
        const ps::PrunedLinears masks = random_masks(*model, 6);
        ps::NamedTensors weights, mask_tensors;
        const std::string updated = masks.begin()->first;
        for (const std::string& name : w.checkpoint().names()) weights.emplace_back(name, w.get(name));
        for (auto& [name, t] : weights) {
            const std::string linear = name.substr(0, name.size() - 7);
            auto m = masks.find(linear);
            if (m == masks.end() || name.compare(name.size() - 7, 7, ".weight") != 0) continue;
            t = at::where(m->second.keep, linear == updated ? t * 1.5 : t, at::zeros({}, t.options()));
            mask_tensors.emplace_back(name, m->second.keep.logical_not().to(at::kByte));
        }
        ps::save_safetensors(dir + "/model.safetensors", weights);
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::load_pruned_linears(dir, w));  // no masks.safetensors yet
        ps::save_safetensors(dir + "/masks.safetensors", mask_tensors);
        const ps::PrunedLinears loaded = ps::load_pruned_linears(dir, w);
        QCOMPARE(loaded.size(), masks.size());
        for (const auto& [name, p] : loaded) {
            QVERIFY(at::equal(p.keep, masks.at(name).keep));
            QCOMPARE(p.weight.defined(), name == updated);
        }
        const ps::Student s(*model, loaded, options(ps::RecoveryMode::SparseLora));
        const at::Tensor d = w.get(updated + ".weight");
        QVERIFY(at::equal(s.merged(updated, d), at::where(masks.at(updated).keep, d * 1.5, at::zeros({}, d.options()))));

        // A weight that is nonzero where its mask says pruned is refused, naming the folder.
        mask_tensors.front().second = at::ones_like(mask_tensors.front().second);
        ps::save_safetensors(dir + "/masks.safetensors", mask_tensors);
        try {
            ps::load_pruned_linears(dir, w);
            QFAIL("a mask that contradicts its weight was accepted");
        } catch (const ps::Error& e) {
            QVERIFY(std::string(e.what()).find(dir) != std::string::npos);
            QVERIFY(std::string(e.what()).find("not zero where the mask says pruned") != std::string::npos);
        }
    }

    void full_and_projector_modes() {
        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Student full(*model, random_masks(*model, 1), options(ps::RecoveryMode::Full));
        QCOMPARE(full.parameters().size(), full.pruned().size());
        const ps::Student proj(*model, random_masks(*model, 1), options(ps::RecoveryMode::Projector));
        QCOMPARE(proj.parameters().size(), size_t(2));  // visual_projection, text_projection
        for (const auto& [name, p] : proj.parameters()) QVERIFY(name.find("projection") != std::string::npos);
        {
            at::NoGradGuard no_grad;
            for (const auto& [name, p] : full.parameters()) p.add_(1.0);
        }
        for (const auto& [name, p] : full.pruned()) {
            const at::Tensor m = full.merged(name, model->weights().get(name + ".weight"));
            QVERIFY(bitwise_zero(m.masked_select(p.keep.logical_not())));
        }
        ps::StudentOptions no_rank = options(ps::RecoveryMode::SparseLora);
        no_rank.rank.clear();
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::Student(*model, random_masks(*model, 1), no_rank));
        ps::StudentOptions huge = options(ps::RecoveryMode::SparseLora);
        huge.rank[ps::Modality::Vision] = 100000;
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::Student(*model, random_masks(*model, 1), huge));
    }
};

QTEST_APPLESS_MAIN(TestSparseLora)
#include "test_sparse_lora.moc"
