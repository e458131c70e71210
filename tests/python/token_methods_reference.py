"""Straightforward references for the token-reduction methods, written from their rules (numpy for
the selections, transformers' own modules for the model).

  token_methods_reference.py rules IN OUT
      IN holds x<i> [n,D] float32 and k<i> (the count to keep) for cases i = 0, 1, ...; writes OUT with
      dart<i>, divprune<i> (kept indices), random<i> (seed 3), and visionzip_kept<i> /
      visionzip_merged<i> / visionzip_into<i> (each token's contextual token, -1 for the dominant)
      (scores s<i>, dominant d<i>, contextual c<i> from IN).
  token_methods_reference.py llava DIR
      builds a tiny LLaVA-1.5 in DIR/llava (tiny_models.py) and two prompts of one 30-px image each
      (25 image tokens), then for each method at keep 0.5 (13 of 25 image tokens) the logits of the
      language model run on a prompt that holds only the kept (or merged) image features, and four
      greedy tokens; writes DIR/inputs.safetensors and DIR/<method>.safetensors.

Rules (pivots 2, contextual share 0.25, seed 3 in the llava mode):
  random     randperm(n) of a generator seeded 3 (torch's documented CPU generator), first k, sorted
  dart       the p largest-L2-norm tokens, then the k - p others whose largest cosine similarity to
             a pivot is smallest
  divprune   d = 1 - cos; first the token whose nearest other token is farthest, then repeatedly the
             unchosen token farthest from its nearest chosen one
  fastervlm  [CLS] attention (mean over heads) at the vision feature layer; the top k patches
  visionzip  the top (k - c) patches by [CLS] attention, c = round(0.25 k); of the rest in order,
             c targets at stride max(1, rest // c); each other token joins its most cosine-similar
             target; a contextual token = target + mean of those joined
random, dart and divprune choose among the projected features; fastervlm and visionzip among the
vision tower's patches before the projector.
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))


def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def dart(x, k, pivots):
    n = x.shape[0]
    if k >= n:
        return np.arange(n)
    x = x.astype(np.float64)
    norms = np.linalg.norm(x, axis=1)
    piv = list(np.argsort(-norms, kind="stable")[: min(pivots, k)])
    u = unit(x)
    dup = (u @ u[piv].T).max(axis=1)
    rest = [i for i in np.argsort(dup, kind="stable") if i not in piv][: k - len(piv)]
    return np.sort(np.array(piv + rest))


def divprune(x, k):
    n = x.shape[0]
    if k >= n:
        return np.arange(n)
    u = unit(x.astype(np.float64))
    d = 1 - u @ u.T
    nearest_other = np.array([min(d[i, j] for j in range(n) if j != i) for i in range(n)])
    chosen = [int(np.argmax(nearest_other))]
    while len(chosen) < k:
        best, best_i = -np.inf, -1
        for i in range(n):
            if i in chosen:
                continue
            m = min(d[i, j] for j in chosen)
            if m > best:
                best, best_i = m, i
        chosen.append(best_i)
    return np.sort(np.array(chosen))


def visionzip(h, scores, dominant, contextual, into=None):
    """`into`, when a list, receives each token's contextual token (-1 for the dominant ones)."""
    n = h.shape[0]
    h64 = h.astype(np.float64)
    kept = np.sort(np.argsort(-scores, kind="stable")[:dominant])
    rest = [i for i in range(n) if i not in kept]
    c = min(contextual, len(rest))
    if into is not None:
        into.extend([-1] * n)
    if c == 0:
        return kept, np.zeros((0, h.shape[1]))
    step = max(1, len(rest) // c)
    targets = [rest[j] for j in range(0, len(rest), step)][:c]
    others = [i for i in rest if i not in targets]
    merged = h64[targets].copy()
    if into is not None:
        for j, t in enumerate(targets):
            into[t] = j
    if others:
        sim = unit(h64[others]) @ unit(h64[targets]).T
        assign = sim.argmax(axis=1)
        if into is not None:
            for o, i in enumerate(others):
                into[i] = int(assign[o])
        for j in range(c):
            members = [others[o] for o in range(len(others)) if assign[o] == j]
            if members:
                merged[j] += h64[members].mean(axis=0)
    return kept, merged


def random_tokens(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    return np.sort(torch.randperm(n, generator=g)[:k].numpy())


def rules(src, out):
    t = load_file(src)
    res = {}
    i = 0
    while f"x{i}" in t:
        x, k = t[f"x{i}"].numpy(), int(t[f"k{i}"])
        res[f"dart{i}"] = torch.tensor(dart(x, k, 2), dtype=torch.long)
        res[f"divprune{i}"] = torch.tensor(divprune(x, k), dtype=torch.long)
        res[f"random{i}"] = torch.tensor(random_tokens(x.shape[0], k, 3), dtype=torch.long)
        into = []
        kept, merged = visionzip(x, t[f"s{i}"].numpy(), int(t[f"d{i}"]), int(t[f"c{i}"]), into)
        res[f"visionzip_kept{i}"] = torch.tensor(kept, dtype=torch.long)
        res[f"visionzip_into{i}"] = torch.tensor(into, dtype=torch.long)
        res[f"visionzip_merged{i}"] = torch.tensor(merged, dtype=torch.float32)
        i += 1
    save_file(res, out)


KEEP_OF = 13  # round(0.5 * 25)


def llava(folder):
    import tiny_models

    tiny_models.write(folder, "llava")
    path = os.path.join(folder, "llava")
    import transformers as tf

    model = tf.LlavaForConditionalGeneration.from_pretrained(path, attn_implementation="eager").eval()
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    pixels = torch.randn(2, 3, 30, 30, generator=g)
    text = torch.randint(1, 97, (2, 9), generator=g)
    image = torch.full((25,), cfg.image_token_index, dtype=torch.long)
    ids = torch.stack([torch.cat([text[b, :3], image, text[b, 3:]]) for b in range(2)])
    save_file({"pixel_values": pixels, "input_ids": ids}, os.path.join(folder, "inputs.safetensors"))

    lm = model.model.language_model
    embed = lm.get_input_embeddings()
    with torch.no_grad():
        vis = model.model.vision_tower(pixels, output_hidden_states=True, output_attentions=True)
        layer = cfg.vision_feature_layer  # -2: hidden_states[-2], the output of block len - 2
        patches = vis.hidden_states[layer][:, 1:]  # [2,25,32] before the projector
        attention = vis.attentions[len(vis.hidden_states) + layer - 1]  # the block that gave them
        cls = attention[:, :, 0, 1:].mean(1).numpy()  # [2,25]
        project = model.model.multi_modal_projector
        projected = project(patches)

        def features(method, b):
            if method == "fastervlm":
                return project(patches[b, np.sort(np.argsort(-cls[b], kind="stable")[:KEEP_OF])])
            if method == "visionzip":
                c = int(round(0.25 * KEEP_OF))
                kept, merged = visionzip(patches[b].numpy(), cls[b], KEEP_OF - c, c)
                rows = torch.cat([patches[b, kept], torch.tensor(merged, dtype=torch.float32)])
                return project(rows)
            x = projected[b]
            if method == "random":
                kept = random_tokens(25, KEEP_OF, 3)
            elif method == "dart":
                kept = dart(x.numpy(), KEEP_OF, 2)
            else:
                kept = divprune(x.numpy(), KEEP_OF)
            return x[torch.tensor(kept)]

        for method in ("random", "dart", "divprune", "fastervlm", "visionzip"):
            rows = []
            for b in range(2):
                e = embed(ids[b])
                rows.append(torch.cat([e[:3], features(method, b), e[28:]]))
            x = torch.stack(rows)
            logits = model.lm_head(lm(inputs_embeds=x).last_hidden_state)
            tokens = []
            for _ in range(4):  # greedy, recomputing the whole prompt each step
                out = model.lm_head(lm(inputs_embeds=x).last_hidden_state)[:, -1].argmax(-1)
                tokens.append(out)
                x = torch.cat([x, embed(out)[:, None]], 1)
            save_file({"logits": logits.contiguous(), "tokens": torch.stack(tokens, 1)},
                      os.path.join(folder, method + ".safetensors"))


if __name__ == "__main__":
    if sys.argv[1] == "rules":
        rules(sys.argv[2], sys.argv[3])
    else:
        llava(sys.argv[2])
