"""Reference for core/model/qwen_vl.cpp: a tiny random Qwen2-VL, Qwen2.5-VL or Qwen3-VL made here
with transformers (odd sizes, grouped-query attention; Qwen3-VL with a head size that is not
hidden / heads, two DeepStack blocks feeding two of three decoder layers, and random norm weights),
saved with a byte-level BPE tokenizer trained here (Qwen2's split pattern and special tokens),
Qwen2-VL's image processor (Qwen3-VL: 16-pixel patches, mean and std 0.5) and a chat template of
the variant's format, and what transformers' processor and model give.

  qwen_vl_reference.py OUT qwen2_vl|qwen2_5_vl|qwen3_vl [--tie] [--module-layout] [--intermediate N]

writes the checkpoint to OUT (in the Hub's visual.* / model.* layout, or --module-layout renamed to
model.visual.* / model.language_model.*; --tie: a tied output head), the images OUT/<name>.png (non-square, one scaled up to min_pixels and one
down to max_pixels), and OUT/reference.safetensors with
  <name>.pixel_values, <name>.image_grid_thw   the image processor's output for each image
  <name>.input_ids                              the one-image chat prompt (a, b) through the processor
  text.input_ids                                a chat prompt without an image
  input_ids, pixel_values, image_grid_thw       a prompt about both images a and b...
  logits, vision.hidden.<i>, language.hidden.<i>  ...its outputs: the first vision block's input then
                                                each vision block's output (in the blocks' own order
                                                of patches), the decoder's input then each layer's output
                                                (Qwen3-VL: with DeepStack's features added, as the next
                                                layer reads it)
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values,
  generate.image_grid_thw                       greedy answers of prompts a and b, left-padded in one batch
  generate.both                                 greedy answer of the two-image prompt
and prints the questions as JSON.
"""
import argparse
import json
import os

import numpy as np
import torch
import transformers as tf
from PIL import Image
from safetensors.torch import load_file, save_file

import hidden_states
from tokenizer_reference import make_split_bpe

# A chat template of Qwen2-VL's format: the default system turn, then each image as
# <|vision_start|><|image_pad|><|vision_end|> followed by the text.
TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

# Qwen3-VL's format: no default system turn.
TEMPLATE3 = TEMPLATE.replace("{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}", "")

IMAGES = {"a": (97, 131), "b": (50, 150), "c": (300, 200), "d": (20, 30)}  # (height, width)
QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "text": "Hello, who are you?",
             "both": "What differs between the two pictures?"}


def write_images(out):
    rng = np.random.default_rng(5)
    images = {}
    for name, (h, w) in IMAGES.items():
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([x * 3, y * 2, x + y], -1) % 256 + rng.integers(0, 60, (h, w, 3))
        path = os.path.join(out, name + ".png")
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        images[name] = Image.open(path).convert("RGB")
    return images


def make_model(variant, tok, tie, intermediate):
    ids = {k: tok.convert_tokens_to_ids(t) for k, t in
           [("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")]}
    text = dict(hidden_size=48, intermediate_size=intermediate, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                vocab_size=len(tok), rope_scaling={"type": "mrope", "mrope_section": [2, 2, 2]}, tie_word_embeddings=tie)
    if variant == "qwen2_vl":
        vision = dict(depth=3, embed_dim=40, num_heads=2, mlp_ratio=1.5, hidden_size=48, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2)
        cfg = tf.Qwen2VLConfig(vision_config=vision, text_config=text, tie_word_embeddings=tie, **ids)
        cls = tf.Qwen2VLForConditionalGeneration
    elif variant == "qwen3_vl":
        text.update(num_hidden_layers=3, head_dim=16,
                    rope_scaling={"rope_type": "default", "mrope_section": [3, 3, 2], "mrope_interleaved": True})
        vision = dict(depth=3, hidden_size=40, num_heads=2, intermediate_size=37, out_hidden_size=48, patch_size=16,
                      spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=25, deepstack_visual_indexes=[0, 2])
        cfg = tf.Qwen3VLConfig(vision_config=vision, text_config=text, tie_word_embeddings=tie, **ids)
        cls = tf.Qwen3VLForConditionalGeneration
    else:
        vision = dict(depth=3, hidden_size=40, num_heads=2, intermediate_size=37, out_hidden_size=48, window_size=56,
                      fullatt_block_indexes=[1], patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
        cfg = tf.Qwen2_5_VLConfig(vision_config=vision, text_config=text, tie_word_embeddings=tie, **ids)
        cls = tf.Qwen2_5_VLForConditionalGeneration
    torch.manual_seed(0)
    model = cls(cfg).eval()
    if variant == "qwen3_vl":  # norms away from their initial ones, so that each one's weights count
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.add_(torch.randn_like(p) * 0.1)
    return model


def to_module_layout(path):
    """save_pretrained writes the Hub's layout (visual.*, model.*): renamed to the modules' (model.visual.*,
    model.language_model.*), which transformers loads too."""
    renamed = {}
    for k, v in load_file(path).items():
        if k.startswith("visual."):
            k = "model." + k
        elif k.startswith("model."):
            k = "model.language_model." + k[len("model."):]
        renamed[k] = v.clone()
    save_file(renamed, path, metadata={"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("variant", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--module-layout", action="store_true")
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    make_split_bpe(a.out, "qwen2")
    v3 = a.variant == "qwen3_vl"
    template = TEMPLATE3 if v3 else TEMPLATE
    tok = tf.Qwen2TokenizerFast.from_pretrained(a.out, chat_template=template, padding_side="left")
    tok.add_special_tokens({"additional_special_tokens": ["<|video_pad|>"]})  # the processor looks for it
    tok.save_pretrained(a.out)
    if v3:
        image_processor = tf.Qwen2VLImageProcessor(min_pixels=32 * 32 * 4, max_pixels=32 * 32 * 24, patch_size=16,
                                                   image_mean=[0.5] * 3, image_std=[0.5] * 3)
        processor = tf.Qwen3VLProcessor(image_processor=image_processor, tokenizer=tok,
                                        video_processor=tf.Qwen3VLVideoProcessor(), chat_template=template)
    else:
        image_processor = tf.Qwen2VLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 24)
        processor = tf.Qwen2VLProcessor(image_processor=image_processor, tokenizer=tok,
                                        video_processor=tf.Qwen2VLVideoProcessor(), chat_template=template)
    image_processor.save_pretrained(a.out)
    model = make_model(a.variant, tok, a.tie, a.intermediate)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.module_layout:
        to_module_layout(os.path.join(a.out, "model.safetensors"))
    images = write_images(a.out)

    ref = {}
    for name, image in images.items():
        px = image_processor(images=[image], return_tensors="pt")
        ref[name + ".pixel_values"] = px["pixel_values"]
        ref[name + ".image_grid_thw"] = px["image_grid_thw"]

    def prompt(names, question):
        content = [{"type": "image"} for _ in names] + [{"type": "text", "text": question}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    for name in ("a", "b"):
        ref[name + ".input_ids"] = processor(text=[prompt([name], QUESTIONS[name])], images=[images[name]],
                                             return_tensors="pt")["input_ids"]
    ref["text.input_ids"] = processor(text=[prompt([], QUESTIONS["text"])], return_tensors="pt")["input_ids"]

    both = processor(text=[prompt(["a", "b"], QUESTIONS["both"])], images=[images["a"], images["b"]], return_tensors="pt")
    visual, layers = model.model.visual, model.model.language_model.layers
    # The first block's input: the patch embedding, for Qwen2.5-VL already in its windows' order;
    # decoder layer outputs before the final norm.
    hooks = hidden_states.record(ref, "vision", visual.blocks) + hidden_states.record(ref, "language", layers)
    with torch.no_grad():
        out = model(**both)
        if v3:  # DeepStack adds its features to the image tokens after the first layers' outputs
            _, deepstack = model.model.get_image_features(both["pixel_values"], both["image_grid_thw"])
            slots = both["input_ids"] == model.config.image_token_id
            for i, features in enumerate(deepstack):
                ref[f"language.hidden.{i + 1}"][slots] += features
    for h in hooks:
        h.remove()
    ref.update(input_ids=both["input_ids"], pixel_values=both["pixel_values"], image_grid_thw=both["image_grid_thw"],
               logits=out.logits)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = processor(text=[prompt(["a"], QUESTIONS["a"]), prompt(["b"], QUESTIONS["b"])], images=[images["a"], images["b"]],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(**batch, **gen)[:, n:]
        ref["generate.both"] = model.generate(**both, **gen)[:, both["input_ids"].shape[1]:]
    for k in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw"):
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
