"""Python sides of bench/bench_peers: the shared checkpoint and data, llm-compressor's oneshot, and
one evaluation of every pruned result against the dense model.

  bench_peers_reference.py prepare DIR SAMPLES HELDOUT          (the project's .venv)
      Writes DIR unless it exists (atomically: a sibling temp folder renamed into place):
      bench_forward's random float32 LLaVA-1.5-shaped model (CLIP ViT 12 x 384 at 224 px, LLaMA
      12 x 768, MLP 2048, 4 key/value heads, vocabulary 8000; 110 M parameters) saved with
      save_pretrained, DIR/calibration.safetensors (SAMPLES rows) and DIR/heldout.safetensors
      (HELDOUT rows from another seed): input_ids, attention_mask and pixel_values, each row BOS,
      5 tokens, the image's 256 tokens and 58 tokens (320). Both tools read the calibration file:
      PruneStudio as its Plan's calibration.data, llm-compressor as the DataLoader below.

  bench_peers_reference.py oneshot DIR CALIBRATION METHOD PATTERN THREADS OUT   (the peers' venv)
      llm-compressor's oneshot() with its WandaPruningModifier or SparseGPTModifier (METHOD wanda
      or sparsegpt; PATTERN unstructured or 2:4; sparsity 0.5; SparseGPT's block 128 and dampening
      0.01, its defaults) on every Linear of the language model's decoder layers (the vision tower,
      projector and lm_head ignored), its sequential pipeline over LlamaDecoderLayer, one sample
      per batch in file order. Writes the pruned Linears to OUT under the checkpoint's names and
      prints one JSON line: oneshot()'s seconds, the seconds from interpreter start to the call
      (imports and loading), versions.

  bench_peers_reference.py evaluate DIR THREADS LABEL=WEIGHTS...   (the project's .venv)
      For each pruned result (a safetensors file holding at least the decoder Linears, under the
      checkpoint's names): those Linears' sparsity, the mean KL(dense || pruned) of next-token
      distributions over every position of DIR/heldout.safetensors (float64 log-softmax), and the
      fraction of mask entries it shares with the first result. Prints one JSON line.
"""
import json
import os
import re
import shutil
import sys
import time

START = time.perf_counter()

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SPARSITY = 0.5
CALIBRATION = "calibration.safetensors"
HELDOUT = "heldout.safetensors"
# The decoder Linears both tools prune, as save_pretrained names them in LLaVA's original layout.
DECODER_LINEAR = re.compile(r"^language_model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.weight$")


def inputs(cfg, samples, seed):
    from bench_forward_reference import IMAGE_TOKEN

    vc = cfg.vision_config
    per_image = (vc.image_size // vc.patch_size) ** 2
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randn(samples, 3, vc.image_size, vc.image_size, generator=g)
    rows = []
    for _ in range(samples):
        prefix = torch.randint(3, IMAGE_TOKEN, (5,), generator=g).tolist()
        text = torch.randint(3, IMAGE_TOKEN, (58,), generator=g).tolist()
        rows.append([1] + prefix + [cfg.image_token_index] * per_image + text)
    ids = torch.tensor(rows, dtype=torch.int64)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": pixels}


def prepare(folder, samples, heldout):
    if os.path.exists(folder):
        return 0
    from bench_forward_reference import build_model

    tmp = f"{folder}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    torch.manual_seed(20261206)
    model = build_model().eval()
    model.save_pretrained(tmp, safe_serialization=True, max_shard_size="10GB")
    save_file(inputs(model.config, samples, 11), os.path.join(tmp, CALIBRATION), metadata={"format": "pt"})
    save_file(inputs(model.config, heldout, 12), os.path.join(tmp, HELDOUT), metadata={"format": "pt"})
    os.rename(tmp, folder)
    return 0


def oneshot(folder, calibration, method, pattern, threads, out):
    import transformers as tf
    import llmcompressor
    from llmcompressor import oneshot as run_oneshot
    from llmcompressor.modifiers.pruning.sparsegpt import SparseGPTModifier
    from llmcompressor.modifiers.pruning.wanda import WandaPruningModifier
    from tokenizers import Tokenizer, models
    from torch.utils.data import DataLoader

    torch.set_num_threads(threads)
    model = tf.LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    data = load_file(calibration)
    samples = data["input_ids"].shape[0]
    rows = [{k: v[i:i + 1] for k, v in data.items()} for i in range(samples)]
    loader = DataLoader(rows, batch_size=None, shuffle=False)  # one prepared row per batch, in order
    # oneshot wants a processor whenever data is given; the rows are already tokenised, so a
    # one-word tokenizer stands in for the checkpoint's (it has none).
    processor = tf.PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")))
    structure = "2:4" if pattern == "2:4" else "0:0"
    common = dict(sparsity=SPARSITY, mask_structure=structure, targets=["Linear"],
                  ignore=["re:.*lm_head", "re:.*vision_tower.*", "re:.*multi_modal_projector.*"])
    modifier = (WandaPruningModifier(**common) if method == "wanda" else
                SparseGPTModifier(block_size=128, dampening_frac=0.01, **common))
    ready = time.perf_counter()
    run_oneshot(model=model, dataset=loader, recipe=modifier, processor=processor, num_calibration_samples=samples,
                shuffle_calibration_samples=False, pipeline="sequential", sequential_targets=["LlamaDecoderLayer"])
    seconds = time.perf_counter() - ready
    pruned = {}
    for name, module in model.named_modules():
        m = re.match(r"^model\.language_model\.(layers\.\d+\..*)$", name)
        if m and isinstance(module, torch.nn.Linear):
            pruned[f"language_model.model.{m.group(1)}.weight"] = module.weight.detach().contiguous()
    save_file(pruned, out)
    print(json.dumps({"seconds": seconds, "before_seconds": ready - START, "linears": len(pruned),
                      "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": tf.__version__,
                      "llmcompressor": llmcompressor.__version__}))
    return 0


def evaluate(folder, threads, results):
    import transformers as tf

    torch.set_num_threads(threads)
    model = tf.LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    data = load_file(os.path.join(folder, HELDOUT))
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        dense = {k: f.get_tensor(k) for k in f.keys() if DECODER_LINEAR.match(k)}
    # Parameters by checkpoint name: from_pretrained maps LLaVA's original layout onto its modules.
    params = {}
    for name, p in model.named_parameters():
        m = re.match(r"^model\.language_model\.(layers\.\d+\..*)$", name)
        if m:
            params[f"language_model.model.{m.group(1)}"] = p

    def log_probs():
        with torch.inference_mode():
            out = []
            for i in range(data["input_ids"].shape[0]):
                logits = model(**{k: v[i:i + 1] for k, v in data.items()}).logits
                out.append(logits.double().log_softmax(-1))
            return torch.cat(out)

    reference = log_probs()
    first_mask, report = None, {}
    for label, path in results:
        with safe_open(path, "pt") as f:
            weights = {k: f.get_tensor(k) for k in dense}
        zeros = sum(int((w == 0).sum()) for w in weights.values())
        total = sum(w.numel() for w in weights.values())
        mask = torch.cat([(w == 0).flatten() for _, w in sorted(weights.items())])
        with torch.no_grad():
            for k, w in weights.items():
                params[k].copy_(w)
        lp = log_probs()
        kl = (reference.exp() * (reference - lp)).sum(-1).mean().item()
        for k, w in dense.items():
            with torch.no_grad():
                params[k].copy_(w)
        entry = {"sparsity": zeros / total, "linears": len(weights), "kl": kl}
        if first_mask is None:
            first_mask = mask
        else:
            entry["mask_agreement"] = (mask == first_mask).double().mean().item()
        report[label] = entry
    print(json.dumps({"results": report, "positions": int(reference.shape[0] * reference.shape[1]),
                      "transformers": tf.__version__}))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "prepare":
        return prepare(a[1], int(a[2]), int(a[3]))
    if len(a) == 7 and a[0] == "oneshot":
        return oneshot(a[1], a[2], a[3], a[4], int(a[5]), a[6])
    if len(a) >= 4 and a[0] == "evaluate":
        return evaluate(a[1], int(a[2]), [tuple(r.split("=", 1)) for r in a[3:]])
    print("usage: bench_peers_reference.py prepare DIR SAMPLES HELDOUT | oneshot DIR CALIBRATION METHOD PATTERN THREADS OUT | "
          "evaluate DIR THREADS LABEL=WEIGHTS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
