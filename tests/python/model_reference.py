"""Reference outputs from transformers for the C++ model parity tests.

  model_reference.py OUT_DIR FAMILY [--dtype float32|bfloat16] [--heads H --hidden D --layers L]

builds a tiny random FAMILY model (tiny_models.build), saves it to OUT_DIR, runs it on seeded
random inputs and writes OUT_DIR/reference.safetensors with the inputs (pixel_values, input_ids,
attention_mask) and every output the C++ side compares: embeddings, logits and each tower's
hidden states (<tower>.hidden.<i>: the first block's input, then each block's output). LLaVA (llava, llava_new: the newer module layout) also takes
--kv-heads N, --tie, --rope-linear FACTOR, --select full and --feature-layer K, and records greedy
generate ids (generate.ids, generate.eos_ids with generate.eos, generate.single for row 0 alone).
"""
import argparse
import os

import torch
from safetensors.torch import load_file, save_file

from tiny_models import build, to_module_layout


def configure_llava(model, a):
    """Options that change the config but not the weights (tying shares the embedding)."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    cfg = model.config
    cfg.vision_feature_select_strategy = a.select
    cfg.vision_feature_layer = a.feature_layer
    if a.rope_linear:
        cfg.text_config.rope_scaling = {"type": "linear", "factor": a.rope_linear}
        model.model.language_model.rotary_emb = LlamaRotaryEmbedding(config=cfg.text_config)
    if a.tie:
        cfg.text_config.tie_word_embeddings = True
        model.tie_weights()


def llava_reference(model, dtype, g):
    """Two prompts with one image each, expanded as LlavaProcessor does; the second left-padded."""
    cfg = model.config
    vc = cfg.vision_config
    per_image = (vc.image_size // vc.patch_size) ** 2 + (cfg.vision_feature_select_strategy == "full")
    pixels = torch.randn(2, 3, vc.image_size, vc.image_size, generator=g)
    image = [cfg.image_token_index] * per_image

    def text(n):
        return torch.randint(3, 90, (n,), generator=g).tolist()

    ids = torch.tensor([text(3) + image + text(5), [0] * 3 + text(1) + image + text(4)])
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    layers = model.model.language_model.layers
    blocks = {}  # decoder layer outputs before the final norm (hidden_states[-1] is after it)
    hooks = [layer.register_forward_hook(lambda _m, _i, o, k=k: blocks.__setitem__(k, o[0] if isinstance(o, tuple) else o))
             for k, layer in enumerate(layers)]
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=pixels.to(dtype), attention_mask=mask, output_hidden_states=True)
        vision = model.model.vision_tower(pixels.to(dtype), output_hidden_states=True)
    for h in hooks:
        h.remove()
    ref = dict(pixel_values=pixels, input_ids=ids, attention_mask=mask, logits=out.logits)
    for i, h in enumerate(vision.hidden_states):
        ref[f"vision.hidden.{i}"] = h
    ref["language.hidden.0"] = out.hidden_states[0]
    for k in range(len(layers)):
        ref[f"language.hidden.{k + 1}"] = blocks[k]

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=0)
    n = ids.shape[1]
    with torch.no_grad():
        new = model.generate(input_ids=ids, pixel_values=pixels.to(dtype), attention_mask=mask, **gen)[:, n:]
        eos = int(new[0, 2])  # row 0 stops at its third token at the latest; row 1 may run on
        stopped = model.generate(input_ids=ids, pixel_values=pixels.to(dtype), attention_mask=mask, eos_token_id=eos,
                                 **gen)[:, n:]
        single = model.generate(input_ids=ids[:1], pixel_values=pixels[:1].to(dtype), **gen)[:, n:]
    ref.update({"generate.ids": new, "generate.eos": torch.tensor([eos]), "generate.eos_ids": stopped,
                "generate.single": single})
    return ref


def record_blocks(tower, ref, name):
    """Hooks recording `name`.hidden.0 (the first block's input) and .hidden.<i+1> (block i's
    output) for the encoder blocks under `tower`: measured on the modules themselves, so they do
    not depend on how a model class assembles its hidden_states tuple."""
    blocks = next(m for n, m in tower.named_modules() if isinstance(m, torch.nn.ModuleList) and n.split(".")[-1] in ("layers", "layer"))

    def pre(_, args, kwargs):
        ref[f"{name}.hidden.0"] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

    blocks[0].register_forward_pre_hook(pre, with_kwargs=True)
    for i, block in enumerate(blocks):
        def post(_, __, out, i=i):
            ref[f"{name}.hidden.{i + 1}"] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        block.register_forward_hook(post)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("family")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--attentions", action="store_true", help="CLIP: also record eager attention probabilities")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=37)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--rope-linear", type=float)
    ap.add_argument("--select", default="default")
    ap.add_argument("--feature-layer", type=int, default=-2)
    a = ap.parse_args()
    torch.manual_seed(0)
    kv = {"num_key_value_heads": a.kv_heads} if a.kv_heads else {}
    model, _ = build(a.family, num_attention_heads=a.heads, hidden_size=a.hidden, num_hidden_layers=a.layers,
                     intermediate_size=a.intermediate, **kv)
    model.eval()
    if a.family.startswith("llava"):
        configure_llava(model, a)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.family == "llava_new":
        path = os.path.join(a.out, "model.safetensors")
        save_file(to_module_layout({k: v.clone() for k, v in load_file(path).items()}), path, metadata={"format": "pt"})
    dtype = getattr(torch, a.dtype)
    model = model.to(dtype)

    cfg = model.config
    g = torch.Generator().manual_seed(1)
    ref = {}
    if a.family in ("clip", "siglip", "vision-text-dual-encoder", "vtde-clip-vision"):
        vc = cfg.vision_config
        pixels = torch.randn(2, 3, vc.image_size, vc.image_size, generator=g)
        ids = torch.randint(3, 90, (3, 9), generator=g)
        mask = torch.ones_like(ids)
        if a.family == "clip":
            ids[:, -1] = cfg.text_config.eos_token_id
            ids[1, 6:] = cfg.text_config.eos_token_id  # shorter text: EOS then padding
            mask[1, 7:] = 0
        elif a.family != "siglip":
            mask[1, 7:] = 0
        record_blocks(model.vision_model, ref, "vision")
        record_blocks(model.text_model, ref, "text")
        with torch.no_grad():
            kw = dict(input_ids=ids, pixel_values=pixels.to(dtype))
            if a.family != "siglip":  # SigLIP's text tower is used without a mask, as its processor does
                kw["attention_mask"] = mask
                ref["attention_mask"] = mask
            out = model(**kw)
        ref.update(pixel_values=pixels, input_ids=ids, logits_per_image=out.logits_per_image,
                   logits_per_text=out.logits_per_text, image_embeds=out.image_embeds, text_embeds=out.text_embeds)
        if a.attentions:  # <tower>.attn.<i>: softmax probabilities of block i, from eager attention
            model.set_attn_implementation("eager")
            for tower in ("vision", "text"):
                for i, layer in enumerate(getattr(model, tower + "_model").encoder.layers):
                    layer.self_attn.register_forward_hook(
                        lambda _, __, o, key=f"{tower}.attn.{i}": ref.__setitem__(key, o[1].detach().clone()))
            with torch.no_grad():
                model(**kw, output_attentions=True)
    elif a.family.startswith("llava"):
        ref.update(llava_reference(model, dtype, g))
    else:
        raise SystemExit(f"no reference inputs for {a.family}")
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))


if __name__ == "__main__":
    main()
