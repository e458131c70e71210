"""Reference outputs from transformers for the C++ model parity tests.

  model_reference.py OUT_DIR FAMILY [--dtype float32|bfloat16] [--heads H --hidden D --layers L]

builds a tiny random FAMILY model (tiny_models.build), saves it to OUT_DIR, runs it on seeded
random inputs and writes OUT_DIR/reference.safetensors with the inputs (pixel_values, input_ids,
attention_mask) and every output the C++ side compares: embeddings, logits and each tower's
hidden states (<tower>.hidden.<i>).
"""
import argparse
import os

import torch
from safetensors.torch import save_file

from tiny_models import build


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("family")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    model, _ = build(a.family, num_attention_heads=a.heads, hidden_size=a.hidden, num_hidden_layers=a.layers)
    model.eval()
    model.save_pretrained(a.out, safe_serialization=True)
    dtype = getattr(torch, a.dtype)
    model = model.to(dtype)

    cfg = model.config
    g = torch.Generator().manual_seed(1)
    ref = {}
    if a.family in ("clip", "siglip", "vision-text-dual-encoder"):
        vc = cfg.vision_config
        pixels = torch.randn(2, 3, vc.image_size, vc.image_size, generator=g)
        ids = torch.randint(3, 90, (3, 9), generator=g)
        mask = torch.ones_like(ids)
        if a.family == "clip":
            ids[:, -1] = cfg.text_config.eos_token_id
            ids[1, 6:] = cfg.text_config.eos_token_id  # shorter text: EOS then padding
            mask[1, 7:] = 0
        elif a.family == "vision-text-dual-encoder":
            mask[1, 7:] = 0
        with torch.no_grad():
            kw = dict(input_ids=ids, pixel_values=pixels.to(dtype), output_hidden_states=True)
            if a.family != "siglip":  # SigLIP's text tower is used without a mask, as its processor does
                kw["attention_mask"] = mask
                ref["attention_mask"] = mask
            out = model(**kw)
        ref.update(pixel_values=pixels, input_ids=ids, logits_per_image=out.logits_per_image,
                   logits_per_text=out.logits_per_text, image_embeds=out.image_embeds, text_embeds=out.text_embeds)
        for tower, o in (("vision", out.vision_model_output), ("text", out.text_model_output)):
            for i, h in enumerate(o.hidden_states):
                ref[f"{tower}.hidden.{i}"] = h
    else:
        raise SystemExit(f"no reference inputs for {a.family}")
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))


if __name__ == "__main__":
    main()
