"""Reference side of tests/core/test_sparsegpt.cpp: SparseGPT (Frantar & Alistarh 2023) written out
plainly in PyTorch, float32 on the CPU, following the published algorithm and its normalisation.

  IN OUT   IN is a safetensors file with <layer>.weight and <layer>.x0, <layer>.x1, ... (calibration
           batches) and metadata "layers" (JSON list of layer names) and "cases" (JSON list of
           {name, layer, sparsity, n, m, blocksize, percdamp}); OUT receives <layer>.hessian and
           <case>.weight (float32) and <case>.mask (bool, true = pruned) for every case.
"""
import json
import math
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def hessian(batches, columns):
    """Running average of 2 x x^T; a batch counts as x.shape[0] samples when 3-d, as 1 when 2-d."""
    h = torch.zeros(columns, columns, dtype=torch.float32)
    seen = 0
    for x in batches:
        count = x.shape[0] if x.dim() == 3 else 1
        flat = x.reshape(-1, columns).to(torch.float32)
        h = h * (seen / (seen + count))
        seen += count
        flat = flat * math.sqrt(2 / seen)
        h = h + flat.t() @ flat
    return h


def prune(weight, h, sparsity, n, m, blocksize, percdamp):
    """Returns (pruned weight, bool mask). n == m == 0 means unstructured at `sparsity`."""
    w = weight.to(torch.float32).clone()
    h = h.to(torch.float32).clone()
    cols = w.shape[1]

    # Inputs that were always zero: drop their weights, make H invertible there.
    dead = torch.nonzero(torch.diagonal(h) == 0).flatten()
    h[dead, dead] = 1.0
    w[:, dead] = 0.0

    damp = percdamp * torch.diagonal(h).mean()
    idx = torch.arange(cols)
    h[idx, idx] = h[idx, idx] + damp

    # Upper Cholesky factor of H^-1: its row j (from j on) is the OBS update direction for column j.
    hinv = torch.cholesky_inverse(torch.linalg.cholesky(h))
    u = torch.linalg.cholesky(hinv, upper=True)

    mask = torch.zeros(w.shape, dtype=torch.bool)
    for start in range(0, cols, blocksize):
        end = min(start + blocksize, cols)
        ub = u[start:end, start:end]
        diag = torch.diagonal(ub)
        block = w[:, start:end].clone()
        errors = torch.zeros_like(block)
        bmask = torch.zeros(block.shape, dtype=torch.bool)

        if m == 0 and sparsity > 0:
            # The k lowest scores of the whole block, k cumulative so the matrix gets
            # exactly floor(sparsity * rows * cols) pruned entries.
            score = block ** 2 / diag.reshape(1, -1) ** 2
            rows = block.shape[0]
            k = int(sparsity * (rows * end)) - int(sparsity * (rows * start))
            lowest = torch.sort(score.flatten(), stable=True).indices[:k]
            bmask = torch.zeros(score.numel(), dtype=torch.bool)
            bmask[lowest] = True
            bmask = bmask.view(score.shape)

        for j in range(end - start):
            if m > 0 and j % m == 0:
                score = block[:, j:j + m] ** 2 / diag[j:j + m].reshape(1, -1) ** 2
                lowest = torch.argsort(score, dim=1)[:, :n]
                group = torch.zeros(score.shape, dtype=torch.bool)
                group[torch.arange(score.shape[0]).unsqueeze(1), lowest] = True
                bmask[:, j:j + m] = group
            original = block[:, j].clone()
            kept = torch.where(bmask[:, j], torch.zeros_like(original), original)
            error = (original - kept) / ub[j, j]
            block[:, j:] -= error.unsqueeze(1) * ub[j, j:].unsqueeze(0)
            block[:, j] = kept
            errors[:, j] = error

        w[:, start:end] = block
        mask[:, start:end] = bmask
        w[:, end:] -= errors @ u[start:end, end:]
    return w, mask


def main(src, dst):
    with safe_open(src, "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    out = {}
    hessians = {}
    for layer in json.loads(meta["layers"]):
        weight = tensors[layer + ".weight"]
        batches = []
        while f"{layer}.x{len(batches)}" in tensors:
            batches.append(tensors[f"{layer}.x{len(batches)}"])
        hessians[layer] = hessian(batches, weight.shape[1])
        out[layer + ".hessian"] = hessians[layer]
    for case in json.loads(meta["cases"]):
        w, mask = prune(tensors[case["layer"] + ".weight"], hessians[case["layer"]], case["sparsity"],
                        case["n"], case["m"], case["blocksize"], case["percdamp"])
        out[case["name"] + ".weight"] = w.contiguous()
        out[case["name"] + ".mask"] = mask.contiguous()
    save_file(out, dst)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], sys.argv[2])
