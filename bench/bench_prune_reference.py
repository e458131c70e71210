"""Python side of bench/bench_prune: builds the benchmark's LLaVA-1.5-style checkpoint and its
calibration data, and prunes that model with Wanda or SparseGPT written plainly in PyTorch over
transformers' own modules, block by block as the published code does (Wanda's lib/prune.py,
SparseGPT's llama.py), so bench_prune can compare our C++ pipeline with it on the same torch.

  bench_prune_reference.py prepare DIR
      Writes DIR (atomically: a sibling temp folder renamed into place) unless it exists: the random
      float32 LlavaForConditionalGeneration of bench_forward (CLIP ViT 12 x 384 at 224 px, LLaMA
      12 x 768 with MLP 2048 and 4 key/value heads, vocabulary 8000; 110 M parameters) saved with
      save_pretrained as one model.safetensors.

  bench_prune_reference.py calibration DIR SAMPLES
      Writes DIR/calibration-SAMPLES.safetensors unless it exists: pixel_values [S,3,224,224] and
      input_ids / attention_mask [S,320] (BOS, 5 tokens, the image's 256 tokens, 58 tokens; no
      padding). Checkpoint::open reads model.safetensors only, so this file is not taken for a shard.

  bench_prune_reference.py run DIR CALIBRATION METHOD SPARSITY THREADS OUT
      Prunes every Linear of the vision layers whose output LLaVA uses (the first 11 of 12: the
      features are hidden_states[-2]) and of all 12 language layers, at SPARSITY, unstructured;
      METHOD is wanda (scores |W| sqrt(a), compared per output row in the language tower and over the
      whole matrix in the vision tower, as PruneStudio's "auto" does) or sparsegpt (blocksize 128,
      percdamp 0.01). One calibration sample per batch, as both published loops run them. Writes the
      pruned weights (float32) and masks (uint8, 1 = pruned) to OUT as <linear>.weight / .mask and
      prints one JSON line {"seconds": ..., ...}. Timed: from capturing the inputs of the first
      vision layer to the last language layer's re-run; not interpreter start-up, imports, loading
      the model or the data, nor writing OUT.

The algorithm per block, for each tower: run the block on every sample with forward hooks on its
Linears accumulating their input statistics (Wanda: the float64 sum of x_j^2 over tokens, divided
by the number of samples; SparseGPT: H = 2/n sum x x^T as a float32 running average, one H per
Linear as the reference keeps it), prune each Linear from them, run the block again with the pruned
weights, and hand its outputs to the next block. The language tower's first inputs are captured
from transformers' LlamaModel (rotary tables, causal mask) fed the token embeddings with the
projected features of the pruned vision tower written over the image tokens, as LLaVA merges them.
"""
import json
import math
import os
import shutil
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

from bench_forward_reference import IMAGE_TOKEN, build_model  # noqa: E402
from sparsegpt_reference import prune as sparsegpt_prune  # noqa: E402

TEXT_TOKENS = 64  # per sample besides the image's 256 tokens
BLOCKSIZE = 128
PERCDAMP = 0.01


def prepare(folder):
    if os.path.exists(folder):
        return 0
    tmp = f"{folder}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    torch.manual_seed(20250612)
    build_model().eval().save_pretrained(tmp, safe_serialization=True, max_shard_size="10GB")
    os.rename(tmp, folder)
    return 0


def calibration(folder, samples):
    path = os.path.join(folder, f"calibration-{samples}.safetensors")
    if os.path.exists(path):
        return 0
    import transformers as tf

    cfg = tf.AutoConfig.from_pretrained(folder)
    vc = cfg.vision_config
    per_image = (vc.image_size // vc.patch_size) ** 2
    g = torch.Generator().manual_seed(11)
    pixels = torch.randn(samples, 3, vc.image_size, vc.image_size, generator=g)
    rows = []
    for _ in range(samples):
        prefix = torch.randint(3, IMAGE_TOKEN, (5,), generator=g).tolist()
        text = torch.randint(3, IMAGE_TOKEN, (TEXT_TOKENS - 6,), generator=g).tolist()
        rows.append([1] + prefix + [cfg.image_token_index] * per_image + text)
    ids = torch.tensor(rows, dtype=torch.int64)
    tmp = f"{path}.tmp-{os.getpid()}"
    save_file({"pixel_values": pixels, "input_ids": ids, "attention_mask": torch.ones_like(ids)}, tmp,
              metadata={"format": "pt"})
    os.rename(tmp, path)
    return 0


class Captured(Exception):
    pass


class Catcher(torch.nn.Module):
    """Stands in for a tower's first layer: records what it is called with, then stops the forward."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.calls = []

    def forward(self, hidden, *args, **kwargs):
        self.calls.append((hidden, args, kwargs))
        raise Captured()


def capture_first_inputs(layers, run_samples):
    catcher = Catcher(layers[0])
    layers[0] = catcher
    try:
        for run in run_samples:
            try:
                run()
            except Captured:
                pass
    finally:
        layers[0] = catcher.layer
    return catcher.calls


class WandaStats:
    def __init__(self, columns):
        self.sum = torch.zeros(columns, dtype=torch.float64)
        self.samples = 0

    def add(self, x):
        self.sum += x.reshape(-1, x.shape[-1]).double().square().sum(0)
        self.samples += x.shape[0] if x.dim() >= 3 else 1


class Hessian:
    """SparseGPT's add_batch: H <- H n/(n+b) + (2/(n+b)) X^T X, float32."""

    def __init__(self, columns):
        self.h = torch.zeros(columns, columns, dtype=torch.float32)
        self.samples = 0

    def add(self, x):
        rows = x.reshape(-1, x.shape[-1]).float()
        b = x.shape[0] if x.dim() >= 3 else 1
        self.h.mul_(self.samples / (self.samples + b))
        self.samples += b
        scaled = rows * math.sqrt(2.0 / self.samples)
        self.h.addmm_(scaled.t(), scaled)


def wanda_prune(weight, stats, sparsity, per_matrix):
    a = (stats.sum / stats.samples).float()
    score = weight.float().abs() * a.sqrt().unsqueeze(0)
    mask = torch.zeros(score.shape, dtype=torch.bool)
    if per_matrix:
        k = int(sparsity * score.numel())
        mask.view(-1)[torch.sort(score.flatten(), stable=True).indices[:k]] = True
    else:
        k = int(sparsity * score.shape[1])
        mask.scatter_(1, torch.sort(score, dim=1, stable=True).indices[:, :k], True)
    return weight.masked_fill(mask, 0), mask


def prune_tower(layers, count, calls, method, sparsity, per_matrix, prefix, out):
    """Block-sequential pruning of layers[:count]; `calls` are the captured (hidden, args, kwargs)
    of the first layer per sample. Returns every sample's output of the last pruned layer."""
    inps = [c[0] for c in calls]
    for i in range(count):
        layer = layers[i]
        linears = {n: m for n, m in layer.named_modules() if isinstance(m, torch.nn.Linear)}
        stats = {n: (WandaStats if method == "wanda" else Hessian)(m.in_features) for n, m in linears.items()}
        hooks = [m.register_forward_hook(lambda mod, inp, outp, s=stats[n]: s.add(inp[0].detach()))
                 for n, m in linears.items()]
        for x, (_, args, kwargs) in zip(inps, calls):
            layer(x, *args, **kwargs)
        for h in hooks:
            h.remove()
        for n, m in linears.items():
            if method == "wanda":
                w, mask = wanda_prune(m.weight.data, stats[n], sparsity, per_matrix)
            else:
                w, mask = sparsegpt_prune(m.weight.data, stats[n].h, sparsity, 0, 0, BLOCKSIZE, PERCDAMP)
            m.weight.data = w.to(m.weight.dtype)
            name = f"{prefix}{i}.{n}"
            out[name + ".weight"] = m.weight.data.float().contiguous()
            out[name + ".mask"] = mask.to(torch.uint8).contiguous()
        outs = []
        for x, (_, args, kwargs) in zip(inps, calls):
            y = layer(x, *args, **kwargs)
            outs.append(y[0] if isinstance(y, tuple) else y)
        inps = outs
    return inps


def run(folder, calibration_path, method, sparsity, threads, out_path):
    import transformers as tf

    torch.set_num_threads(threads)
    data = load_file(calibration_path)
    model = tf.LlavaForConditionalGeneration.from_pretrained(folder).eval()
    cfg = model.config
    samples = data["input_ids"].shape[0]
    pixels = [data["pixel_values"][j:j + 1] for j in range(samples)]
    ids = [data["input_ids"][j:j + 1] for j in range(samples)]
    masks = [data["attention_mask"][j:j + 1] for j in range(samples)]
    vision = model.model.vision_tower.vision_model
    language = model.model.language_model
    n_vision = cfg.vision_config.num_hidden_layers + 1 + cfg.vision_feature_layer  # layers feeding the features
    # OUT names tensors as the checkpoint does (save_pretrained writes LLaVA's original layout).
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        legacy = any(k.startswith("language_model.model.") for k in f.keys())
    vision_prefix = ("" if legacy else "model.") + "vision_tower.vision_model.encoder.layers."
    language_prefix = "language_model.model.layers." if legacy else "model.language_model.layers."
    pruned = {}

    with torch.no_grad():
        start = time.perf_counter()
        calls = capture_first_inputs(vision.encoder.layers, [lambda p=p: model.model.vision_tower(p) for p in pixels])
        features = prune_tower(vision.encoder.layers, n_vision, calls, method, sparsity, True,
                               vision_prefix, pruned)
        embeds = []
        for f, x in zip(features, ids):
            f = model.model.multi_modal_projector(f[:, 1:] if cfg.vision_feature_select_strategy == "default" else f)
            e = language.embed_tokens(x)
            slots = (x == cfg.image_token_index).unsqueeze(-1).expand_as(e)
            embeds.append(e.masked_scatter(slots, f.to(e.dtype)))
        calls = capture_first_inputs(language.layers, [lambda e=e, m=m: language(inputs_embeds=e, attention_mask=m, use_cache=False)
                                                       for e, m in zip(embeds, masks)])
        prune_tower(language.layers, cfg.text_config.num_hidden_layers, calls, method, sparsity, False,
                    language_prefix, pruned)
        seconds = time.perf_counter() - start

    save_file(pruned, out_path)
    print(json.dumps({
        "seconds": seconds,
        "samples": samples,
        "tokens": int(data["input_ids"].shape[1]),
        "linears": len(pruned) // 2,
        "attn_implementation": cfg._attn_implementation,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": tf.__version__,
    }))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "prepare":
        return prepare(a[1])
    if len(a) == 3 and a[0] == "calibration":
        return calibration(a[1], int(a[2]))
    if len(a) == 7 and a[0] == "run":
        return run(a[1], a[2], a[3], float(a[4]), int(a[5]), a[6])
    print("usage: bench_prune_reference.py prepare DIR | calibration DIR SAMPLES | "
          "run DIR CALIBRATION METHOD SPARSITY THREADS OUT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
