"""Reference for structured width pruning, from transformers.

  width_reference.py scores MODEL_DIR INPUTS SCORE OUT.json
      the group scores of the dense model on the batch in INPUTS (safetensors: pixel_values,
      input_ids, attention_mask). SCORE: taylor = sum over a group's weights of |W * dL/dW| with L
      the calibration loss (dual encoders: symmetric cross-entropy of logits_per_image against the
      diagonal; LLaVA: next-token cross-entropy over every position); activation = the squared
      norms of the inputs of o / fc2 / down summed over tokens, divided by the batch size, summed
      per group. Writes {tower: {"channels": [[per channel] per block], "groups": [[per key/value
      group] per block]}} for the towers the model runs every layer of (groups for LLaMA only).
  width_reference.py run MODEL_DIR INPUTS OUT
      loads a pruned folder (no missing or unexpected weights allowed), runs INPUTS and writes OUT
      (safetensors) with "logits" (LLaVA) or "logits_per_image" (dual encoders).
"""
import json
import sys

import torch
import transformers as tf
from safetensors.torch import load_file, save_file


def load(model_dir):
    kind = json.load(open(f"{model_dir}/config.json"))["model_type"]
    cls = tf.LlavaForConditionalGeneration if kind == "llava" else tf.VisionTextDualEncoderModel
    model, info = cls.from_pretrained(model_dir, output_loading_info=True, torch_dtype=torch.float32)
    if info["missing_keys"] or info["unexpected_keys"]:
        sys.exit(f"{model_dir}: missing {info['missing_keys']}, unexpected {info['unexpected_keys']}")
    return kind, model.eval()


def outputs(kind, model, x):
    if kind == "llava":
        return model(input_ids=x["input_ids"], attention_mask=x["attention_mask"], pixel_values=x["pixel_values"]).logits
    return model(input_ids=x["input_ids"], attention_mask=x["attention_mask"],
                 pixel_values=x["pixel_values"]).logits_per_image


def loss_of(kind, out, x):
    if kind == "llava":
        return torch.nn.functional.cross_entropy(out[:, :-1].reshape(-1, out.size(-1)), x["input_ids"][:, 1:].reshape(-1))
    target = torch.arange(out.size(0))
    return 0.5 * (torch.nn.functional.cross_entropy(out, target) + torch.nn.functional.cross_entropy(out.t(), target))


def blocks(kind, model):
    """{tower: [(q, k, v, o, [up...], down) per block]} as modules, with LLaMA's head_dim."""
    if kind == "llava":
        lm = model.model.language_model
        return {"language": [(l.self_attn.q_proj, l.self_attn.k_proj, l.self_attn.v_proj, l.self_attn.o_proj,
                              [l.mlp.gate_proj, l.mlp.up_proj], l.mlp.down_proj) for l in lm.layers]}
    vis = [(l.attention.attention.query, l.attention.attention.key, l.attention.attention.value,
            l.attention.output.dense, [l.intermediate.dense], l.output.dense) for l in model.vision_model.encoder.layer]
    txt = [(l.attention.self.query, l.attention.self.key, l.attention.self.value, l.attention.output.dense,
            [l.intermediate.dense], l.output.dense) for l in model.text_model.encoder.layer]
    return {"vision": vis, "text": txt}


def groups_of(rows_or_cols, n):
    return rows_or_cols.reshape(n, -1).sum(1)


def scores(model_dir, inputs, score, out):
    kind, model = load(model_dir)
    x = load_file(inputs)
    towers = blocks(kind, model)
    head_dim = model.config.text_config.head_dim if kind == "llava" else None
    result = {}
    if score == "taylor":
        outputs_ = outputs(kind, model, x)
        loss_of(kind, outputs_, x).backward()
        for tower, layers in towers.items():
            ch, gr = [], []
            for q, k, v, o, ups, down in layers:
                imp = {m: (m.weight.detach().double() * m.weight.grad.double()).abs() for m in [q, k, v, o, down] + ups}
                c = imp[down].sum(0)
                for u in ups:
                    c = c + imp[u].sum(1)
                ch.append(c.tolist())
                if head_dim:
                    kv = k.weight.size(0) // head_dim
                    g = groups_of(imp[q].sum(1), kv) + groups_of(imp[k].sum(1), kv) + groups_of(imp[v].sum(1), kv) + \
                        groups_of(imp[o].sum(0), kv)
                    gr.append(g.tolist())
            result[tower] = {"channels": ch, "groups": gr}
    else:
        sums = {}

        def hook(name):
            def f(_, args):
                a = args[0].detach().double()
                sums[name] = sums.get(name, 0) + a.pow(2).reshape(-1, a.size(-1)).sum(0) / a.size(0)
            return f

        for tower, layers in towers.items():
            for i, (q, k, v, o, ups, down) in enumerate(layers):
                o.register_forward_pre_hook(hook((tower, i, "o")))
                down.register_forward_pre_hook(hook((tower, i, "down")))
        with torch.no_grad():
            outputs(kind, model, x)
        for tower, layers in towers.items():
            ch, gr = [], []
            for i, (q, k, v, o, ups, down) in enumerate(layers):
                ch.append(sums[(tower, i, "down")].tolist())
                if head_dim:
                    gr.append(groups_of(sums[(tower, i, "o")], k.weight.size(0) // head_dim).tolist())
            result[tower] = {"channels": ch, "groups": gr}
    json.dump(result, open(out, "w"))


def run(model_dir, inputs, out):
    kind, model = load(model_dir)
    x = load_file(inputs)
    with torch.no_grad():
        y = outputs(kind, model, x)
    save_file({"logits" if kind == "llava" else "logits_per_image": y.contiguous()}, out)


if __name__ == "__main__":
    if sys.argv[1] == "scores":
        scores(*sys.argv[2:6])
    else:
        run(*sys.argv[2:5])
