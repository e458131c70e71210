"""Tiny random checkpoints of every supported family, built with transformers (no download), and
for each the Linear modules transformers has, with the modality of the sub-model they live in.

  tiny_models.py OUT_DIR [family ...]

writes OUT_DIR/<family>/{config.json, model.safetensors, expected.json}. expected.json maps each
Linear's weight name *as stored in the checkpoint* (found by matching the module's weight values
against the saved tensors, so no naming rule is assumed) to "vision" | "projector" | "language" |
"other". LLaVA is written twice: in the layout save_pretrained uses (llava) and renamed to the
newer module layout (llava_new).
"""
import json
import os
import re
import sys

import torch
from safetensors.torch import load_file, save_file
from torch import nn


SIZES = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4)


def tiny(**kw):
    base = dict(SIZES)
    base.update(kw)
    return base


def build(family, num_key_value_heads=2, **sizes):
    """A tiny random model of `family`; `sizes` override SIZES (e.g. odd head counts),
    `num_key_value_heads` sets LLaVA's decoder heads for keys and values (grouped-query attention)."""
    import transformers as tf

    SIZES.update(sizes)

    vis = tiny(image_size=30, patch_size=6)
    if family == "clip":
        m = tf.CLIPModel(tf.CLIPConfig(text_config=tiny(vocab_size=99, max_position_embeddings=16, eos_token_id=98),
                                       vision_config=vis, projection_dim=16))
        return m, {"vision": [m.vision_model], "language": [m.text_model],
                   "projector": [m.visual_projection, m.text_projection]}
    if family == "siglip":
        m = tf.SiglipModel(tf.SiglipConfig(text_config=tiny(vocab_size=99, max_position_embeddings=16),
                                           vision_config=vis))
        return m, {"vision": [m.vision_model], "language": [m.text_model]}
    if family in ("vision-text-dual-encoder", "vtde-clip-vision"):
        vision = tf.ViTConfig(**vis) if family == "vision-text-dual-encoder" else tf.CLIPVisionConfig(**vis)
        cfg = tf.VisionTextDualEncoderConfig.from_vision_text_configs(
            vision, tf.BertConfig(**tiny(vocab_size=99)), projection_dim=16)
        m = tf.VisionTextDualEncoderModel(cfg)
        return m, {"vision": [m.vision_model], "language": [m.text_model],
                   "projector": [m.visual_projection, m.text_projection]}
    if family.startswith("llava"):
        cfg = tf.LlavaConfig(vision_config=tf.CLIPVisionConfig(**vis),
                             text_config=tf.LlamaConfig(**tiny(num_key_value_heads=num_key_value_heads, vocab_size=99)),
                             image_token_index=98)
        m = tf.LlavaForConditionalGeneration(cfg)
        return m, {"vision": [m.model.vision_tower], "projector": [m.model.multi_modal_projector],
                   "language": [m.model.language_model]}
    if family == "blip-2":
        cfg = tf.Blip2Config(vision_config=vis, qformer_config=tiny(vocab_size=99, encoder_hidden_size=32),
                             text_config=dict(model_type="opt", hidden_size=32, ffn_dim=37, num_hidden_layers=2,
                                              num_attention_heads=4, vocab_size=99, word_embed_proj_dim=32,
                                              tie_word_embeddings=False),
                             num_query_tokens=4, tie_word_embeddings=False)
        m = tf.Blip2ForConditionalGeneration(cfg)
        return m, {"vision": [m.vision_model], "projector": [m.qformer, m.language_projection],
                   "language": [m.language_model]}
    if family == "idefics3":
        cfg = tf.Idefics3Config(vision_config=tiny(image_size=32, patch_size=8),
                                text_config=dict(model_type="llama", **tiny(num_key_value_heads=2, vocab_size=99)),
                                scale_factor=2, image_token_id=98, tie_word_embeddings=False)
        m = tf.Idefics3ForConditionalGeneration(cfg)
        return m, {"vision": [m.model.vision_model], "projector": [m.model.connector],
                   "language": [m.model.text_model]}
    if family == "qwen2-vl":
        cfg = tf.Qwen2VLConfig(vision_config=dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4,
                                                  mlp_ratio=2, patch_size=14, spatial_merge_size=2),
                               text_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                                num_attention_heads=4, num_key_value_heads=2, vocab_size=99,
                                                rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]}),
                               tie_word_embeddings=False)
        m = tf.Qwen2VLForConditionalGeneration(cfg)
        return m, {"vision": [m.model.visual.blocks, m.model.visual.patch_embed], "projector": [m.model.visual.merger],
                   "language": [m.model.language_model]}
    if family == "qwen3-vl":
        cfg = tf.Qwen3VLConfig(vision_config=dict(depth=3, hidden_size=32, num_heads=4, intermediate_size=37, out_hidden_size=32,
                                                  num_position_embeddings=16, deepstack_visual_indexes=[0, 2]),
                               text_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                                                num_key_value_heads=2, head_dim=8, vocab_size=99,
                                                rope_scaling={"rope_type": "default", "mrope_section": [2, 1, 1]}),
                               tie_word_embeddings=False)
        m = tf.Qwen3VLForConditionalGeneration(cfg)
        return m, {"vision": [m.model.visual.blocks, m.model.visual.patch_embed],
                   "projector": [m.model.visual.merger, m.model.visual.deepstack_merger_list],
                   "language": [m.model.language_model]}
    raise SystemExit(f"unknown family {family}")


def modality_of(model, module, parts):
    if module is model.get_output_embeddings():
        return "other"  # the output head is not part of a tower's prunable blocks
    for name, roots in parts.items():
        for root in roots:
            if any(module is sub for sub in root.modules()):
                return name
    return "other"


def to_module_layout(tensors):
    """LLaVA tensors renamed from the layout save_pretrained writes to the newer module layout."""
    mapping = {"^language_model.model": "model.language_model", "^vision_tower": "model.vision_tower",
               "^multi_modal_projector": "model.multi_modal_projector", "^language_model.lm_head": "lm_head"}
    renamed = {}
    for k, v in tensors.items():
        for pat, rep in mapping.items():
            k2 = re.sub(pat, rep, k)
            if k2 != k:
                k = k2
                break
        renamed[k] = v
    return renamed


def write(out_dir, family):
    torch.manual_seed(0)
    model, parts = build(family)
    model.eval()
    folder = os.path.join(out_dir, family)
    model.save_pretrained(folder, safe_serialization=True)
    path = os.path.join(folder, "model.safetensors")
    saved = {k: v.clone() for k, v in load_file(path).items()}  # detached from the file we may rewrite
    if family == "llava_new":  # rename to the newer module layout; transformers loads both
        saved = to_module_layout(saved)
        save_file(saved, path, metadata={"format": "pt"})
    expected = {}
    for _n, mod in model.named_modules():
        if not isinstance(mod, nn.Linear):
            continue
        w = mod.weight.detach()
        hits = [k for k, t in saved.items() if t.shape == w.shape and torch.equal(t, w)]
        if len(hits) != 1:
            raise SystemExit(f"{family}: weight of Linear {_n} matches {len(hits)} saved tensors: {hits}")
        expected[hits[0][: -len(".weight")]] = modality_of(model, mod, parts)
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


FAMILIES = ["clip", "siglip", "vision-text-dual-encoder", "llava", "llava_new", "blip-2", "idefics3", "qwen2-vl", "qwen3-vl"]

if __name__ == "__main__":
    out = sys.argv[1]
    for fam in sys.argv[2:] or FAMILIES:
        write(out, fam)
