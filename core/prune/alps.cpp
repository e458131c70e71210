#include "core/prune/alps.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

namespace {

// (H + ρI)⁻¹ from H's eigendecomposition.
at::Tensor shifted_inverse(const at::Tensor& values, const at::Tensor& vectors, double rho) {
    return at::matmul(vectors, (vectors * (1.0 / (values + rho)).unsqueeze(0)).t());
}

}  // namespace

PruneOutcome alps_prune(const at::Tensor& weight, const at::Tensor& gram, double sparsity, const SparsityPattern& pattern,
                        CompareGroup group, const AlpsOptions& o, const std::string& name) {
    if (!weight.defined() || weight.dim() != 2)
        throw Error(name, "weight must be 2-d [out, in], got shape " + (weight.defined() ? shape_string(weight) : std::string("undefined")));
    const int64_t cols = weight.size(1);
    if (!gram.defined() || gram.dim() != 2 || gram.size(0) != cols || gram.size(1) != cols)
        throw Error(name, "ALPS needs the inputs' Gram matrix [" + std::to_string(cols) + ", " + std::to_string(cols) + "], got " +
                              (gram.defined() ? shape_string(gram) : std::string("undefined")));
    if (!(o.rho > 0) || o.iterations < 0 || o.update_every < 1 || o.settle_after < 0 || o.cg_iterations < 0 || !(o.percdamp >= 0))
        throw Error(name, "ALPS options out of range (rho > 0, iterations >= 0, update_every >= 1, settle_after >= 0, "
                          "cg_iterations >= 0, percdamp >= 0)");
    at::NoGradGuard no_grad;
    const auto project = [&](const at::Tensor& x) {  // the pruned entries of iterate x: the lowest squares
        return select_pruned(x.square(), sparsity, pattern, group, name);
    };

    // The normalised problem: H' = D⁻¹(H + damp·I)D⁻¹ with D = sqrt(diag) and W' = W·D, so that
    // ‖X(W − Ŵ)ᵀ‖² = tr((W' − Ŵ')H'(W' − Ŵ')ᵀ).
    at::Tensor h = gram.detach().to(weight.device(), at::kDouble).clone();
    h.diagonal().add_(o.percdamp * h.diagonal().mean().item<double>());
    const at::Tensor scale = h.diagonal().sqrt() + 1e-8;
    h = h / scale.unsqueeze(0) / scale.unsqueeze(1);
    const at::Tensor w0 = weight.detach().to(at::kDouble) * scale.unsqueeze(0);
    const at::Tensor y = at::matmul(w0, h);  // W'H'
    const auto [values, vectors] = at::linalg_eigh(h);

    // ADMM on B (free) = D (sparse) with the scaled dual V.
    double rho = o.rho;
    at::Tensor inverse = shifted_inverse(values, vectors, rho);
    at::Tensor mask = project(w0);
    const at::Tensor d_init = w0.masked_fill(mask, 0);
    at::Tensor b = w0.clone(), d = d_init.clone(), v = at::zeros_like(w0);
    at::Tensor previous = mask;
    const double kept = static_cast<double>(mask.numel() - mask.sum().item<int64_t>());
    bool raised = false;
    for (int64_t i = 0; i < o.iterations; ++i) {
        b = at::matmul(y - v + rho * d, inverse);
        const at::Tensor target = (v + rho * b) / rho;
        mask = project(target);
        d = target.masked_fill(mask, 0);
        v = v + rho * (b - d);
        if ((i + 1) % o.update_every) continue;
        const double changed = static_cast<double>(mask.logical_xor(previous).sum().item<int64_t>());
        if (changed / kept > 0.1) {
            raised = true;
            rho *= 1.3;
        } else if (changed / kept > 0.005) {
            raised = true;
            rho *= 1.2;
        } else if (changed > 0.5) {
            if (raised) {
                rho *= 1.1;
            } else {  // the support moved at a penalty too weak to hold it: start again, lower
                rho /= 5;
                b = w0.clone();
                d = d_init.clone();
                v = at::zeros_like(w0);
            }
        } else if (raised) {
            break;
        } else {
            rho /= 5;
        }
        previous = mask;
        rho = std::min(rho, 1e6);
        inverse = shifted_inverse(values, vectors, rho);
        if (i >= o.settle_after && changed / kept < 0.0003) break;
    }

    // The final support, and its weights refit: conjugate gradients on H'Ŵ'ᵀ = H'W'ᵀ restricted to
    // it, one system per output row, from the projected iterate.
    mask = project(b);
    const at::Tensor support = mask.logical_not().to(at::kDouble);
    at::Tensor x = b.masked_fill(mask, 0);
    at::Tensor r = (y - at::matmul(x, h)) * support;
    at::Tensor p, r_prev, z_prev;
    const at::Tensor y_norm = y.norm(2, {0});
    for (int64_t k = 1; k <= o.cg_iterations; ++k) {
        const at::Tensor z = r;
        if (k == 1) {
            p = z;
        } else {
            at::Tensor den = (r_prev * z_prev).sum(1);
            den.masked_fill_(den == 0, 1e-8);
            p = z + ((r * z).sum(1) / den).unsqueeze(1) * p;
        }
        const at::Tensor hp = at::matmul(p, h);
        at::Tensor den = (p * hp).sum(1);
        den.masked_fill_(den == 0, 1e-8);
        const at::Tensor alpha = ((r * z).sum(1) / den).unsqueeze(1);
        x = x + alpha * p;
        r_prev = r;
        z_prev = z;
        r = (r - alpha * hp) * support;
        if ((at::matmul(x, h) - y).norm(2, {0}).le(y_norm * 1e-4).all().item<bool>()) break;
    }
    const at::Tensor pruned = (x / scale.unsqueeze(0)).masked_fill(mask, 0).to(weight.scalar_type());
    return {pruned, mask};
}

}  // namespace ps
