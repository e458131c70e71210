"""Reference for core/prune/alps.cpp: ALPS written after the authors' alps.py (ALPS_admm and
cg_batch: the [in, out] layout B = (W·D)ᵀ, the eigendecomposition of the normalised Gram matrix, the
penalty schedule, the refit by batched conjugate gradients without a preconditioner), in float64 on
the CPU. The support is chosen as PruneStudio chooses it (select_pruned: the lowest squares of the
iterate in [out, in] order, ties to the lower index: per row, per matrix or per N:M group) so that
both give exact sparsity counts; the authors' topk chooses the same set up to ties.

  alps_reference.py IN.safetensors OUT.safetensors SPARSITY row|matrix N M RHO ITERATIONS UPDATE SETTLE CG PERCDAMP

IN holds `weight` [out, in] and `gram` [in, in]; OUT gets `weight` (the pruned weight) and `mask`
(uint8, 1 = pruned). N M are 0 0 for unstructured.
"""
import math
import sys

import torch
from safetensors.torch import load_file, save_file


def select(scores, sparsity, group, n, m):
    """Boolean [out, in]: the entries pruned (True)."""
    out, cols = scores.shape
    mask = torch.zeros(out * cols, dtype=torch.bool)
    if m:
        g = scores.reshape(out, cols // m, m)
        order = torch.argsort(g, dim=2, stable=True)[:, :, :n]
        base = torch.arange(out).view(-1, 1, 1) * cols + torch.arange(cols // m).view(1, -1, 1) * m
        mask[(base + order).reshape(-1)] = True
    elif group == "matrix":
        k = math.floor(sparsity * out * cols)
        mask[torch.argsort(scores.reshape(-1), stable=True)[:k]] = True
    else:
        k = math.floor(sparsity * cols)
        order = torch.argsort(scores, dim=1, stable=True)[:, :k]
        mask[(torch.arange(out).view(-1, 1) * cols + order).reshape(-1)] = True
    return mask.reshape(out, cols)


def alps(W, XtX, sparsity, group, n, m, rho, max_iter, update_iter, switch_iter, cg_iter, percdamp):
    def project(B):  # B [in, out]: the pruned entries, in B's layout
        return select(B.t() ** 2, sparsity, group, n, m).t()

    XtX = XtX.clone()
    damp = percdamp * torch.mean(torch.diag(XtX)).item()
    diag = torch.arange(XtX.shape[0])
    XtX[diag, diag] += damp
    X_norm = torch.diag(XtX).sqrt() + 1e-8
    XtX = XtX / X_norm
    XtX = (XtX.T / X_norm).T
    YtX = torch.matmul(W * X_norm, XtX)

    B = (W * X_norm).t().clone()
    B_orig = B.clone()
    V = torch.zeros_like(B)
    L, Q = torch.linalg.eigh(XtX)
    XTX_inv = Q @ ((1 / (L + rho)) * Q).T
    supp_prev = project(B)
    D = B.masked_fill(supp_prev, 0)
    D_init = D.clone()
    k_spar = float((~supp_prev).sum())
    init_rho = False
    for i_admm in range(max_iter):
        B = XTX_inv @ (YtX.T - V + rho * D)
        target = (V + rho * B) / rho
        supp = project(target)
        D = target.masked_fill(supp, 0)
        V = V + rho * (B - D)
        if (i_admm + 1) % update_iter == 0:
            supp_change = float((supp != supp_prev).sum())
            if supp_change / k_spar > 0.1:
                init_rho = True
                rho *= 1.3
            elif supp_change / k_spar > 0.005:
                init_rho = True
                rho *= 1.2
            elif supp_change > 0.5:
                if init_rho:
                    rho *= 1.1
                else:
                    rho /= 5
                    B = B_orig.clone()
                    D = D_init.clone()
                    V = torch.zeros_like(B)
            else:
                if init_rho:
                    break
                else:
                    rho /= 5
            supp_prev = supp.clone()
            if rho > 1e6:
                rho = 1e6
            XTX_inv = Q @ ((1 / (L + rho)) * Q).T
            if i_admm >= switch_iter and supp_change / k_spar < 0.0003:
                break

    pruned = project(B)
    B = B.masked_fill(pruned, 0)
    B = cg_batch(XtX, YtX.T, (~pruned).to(torch.float64), B, 1e-4, cg_iter)
    return (B.t() / X_norm).masked_fill(pruned.t(), 0), pruned.t()


def cg_batch(A, B, A_supp, X0, rtol, maxiter):
    """The authors' cg_batch with the identity preconditioner."""
    X_k = X0
    R_k = (B - A @ X_k) * A_supp
    B_norm = torch.norm(B, dim=1)
    stopping = rtol * B_norm
    for k in range(1, maxiter + 1):
        Z_k = R_k
        if k == 1:
            P_k = Z_k
            R_k1, X_k1, Z_k1 = R_k, X_k, Z_k
        else:
            R_k2, Z_k2, P_k1 = R_k1, Z_k1, P_k
            R_k1, Z_k1, X_k1 = R_k, Z_k, X_k
            denominator = (R_k2 * Z_k2).sum(0)
            denominator[denominator == 0] = 1e-8
            beta = (R_k1 * Z_k1).sum(0) / denominator
            P_k = Z_k1 + beta.unsqueeze(0) * P_k1
        AP = A @ P_k
        denominator = (P_k * AP).sum(0)
        denominator[denominator == 0] = 1e-8
        alpha = (R_k1 * Z_k1).sum(0) / denominator
        X_k = X_k1 + alpha.unsqueeze(0) * P_k
        R_k = (R_k1 - alpha.unsqueeze(0) * AP) * A_supp
        if (torch.norm(A @ X_k - B, dim=1) <= stopping).all():
            break
    return X_k


def main():
    a = sys.argv[1:]
    t = load_file(a[0])
    W, H = t["weight"].to(torch.float64), t["gram"].to(torch.float64)
    weight, mask = alps(W, H, float(a[2]), a[3], int(a[4]), int(a[5]), float(a[6]), int(a[7]), int(a[8]), int(a[9]),
                        int(a[10]), float(a[11]))
    save_file({"weight": weight.to(t["weight"].dtype).contiguous(), "mask": mask.to(torch.uint8).contiguous()}, a[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
