// add_into, mul_into and activation_into: the same bits as the out-of-place expressions they stand
// for, written into the first operand only without autograd and only where the result has its
// shape and dtype, and with autograd the same gradients as the plain expressions.
#include <QTest>

#include <string>
#include <vector>

#include <ATen/core/grad_mode.h>

#include "core/model/layers.h"

namespace {

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
    return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
           at::equal(a.contiguous().view(at::kInt), b.contiguous().view(at::kInt));
}

const std::vector<std::string> kActivations = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu",
                                               "silu", "swish", "relu", "tanh"};

}  // namespace

class TestLayers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(7); }

    void in_place_without_autograd() {
        const at::NoGradGuard no_grad;
        const at::Tensor b = at::randn({3, 5, 8}), row = at::randn({8});
        for (const at::Tensor& other : {b, row}) {  // same shape, and broadcast into a
            at::Tensor a = at::randn({3, 5, 8});
            const at::Tensor sum = a + other, prod = a * other;
            const void* memory = a.data_ptr();
            at::Tensor c = a.clone();
            const void* c_memory = c.data_ptr();
            const at::Tensor s = ps::add_into(c, other);
            QVERIFY(same_bits(s, sum));
            QCOMPARE(s.data_ptr(), c_memory);
            const at::Tensor p = ps::mul_into(a, other);
            QVERIFY(same_bits(p, prod));
            QCOMPARE(p.data_ptr(), memory);  // written into a
        }
        for (const std::string& name : kActivations) {
            const at::Tensor x = at::randn({4, 300}) * 3;
            const at::Tensor expect = ps::activation(x, name);
            at::Tensor y = x.clone();
            const void* memory = y.data_ptr();
            const at::Tensor got = ps::activation_into(y, name);
            QVERIFY2(same_bits(got, expect), name.c_str());
            QVERIFY2(got.data_ptr() == memory, name.c_str());
        }
    }

    void out_of_place_where_the_result_differs_from_a() {
        const at::NoGradGuard no_grad;
        // b broadcasts a to a larger shape; b promotes a's dtype
        const at::Tensor small = at::randn({8}), big = at::randn({2, 8});
        const at::Tensor s = ps::add_into(small, big);
        QVERIFY(s.sizes() == big.sizes() && same_bits(s, small + big));
        QVERIFY(at::equal(small, small.clone()) && s.data_ptr() != small.data_ptr());
        const at::Tensor half = at::randn({2, 8}).to(at::kBFloat16);
        const at::Tensor before = half.clone();
        const at::Tensor m = ps::mul_into(half, big);
        QVERIFY(m.scalar_type() == at::kFloat && at::equal(m, half * big));
        QVERIFY(at::equal(half, before));  // a left as it was
    }

    void autograd_keeps_its_operands() {
        const at::Tensor a0 = at::randn({6, 16}), b0 = at::randn({6, 16});
        for (const std::string& name : kActivations) {
            at::Tensor a = a0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
            at::Tensor ra = a0.clone().requires_grad_(true), rb = b0.clone().requires_grad_(true);
            // the temporaries a block hands these helpers: outputs of earlier operations
            const at::Tensor got = ps::add_into(ps::mul_into(ps::activation_into(a * 1.5, name), b * 2), b * 3);
            const at::Tensor expect = ps::activation(ra * 1.5, name) * (rb * 2) + rb * 3;
            QVERIFY2(same_bits(got.detach(), expect.detach()), name.c_str());
            got.sum().backward();
            expect.sum().backward();
            QVERIFY2(same_bits(a.grad(), ra.grad()) && same_bits(b.grad(), rb.grad()), name.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestLayers)
#include "test_layers.moc"
