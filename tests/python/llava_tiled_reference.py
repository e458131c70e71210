"""Reference for the tiled LLaVA generations in core/model/llava.cpp: a tiny random
LlavaNextForConditionalGeneration (a CLIP vision tower of odd sizes with 30-pixel tiles) or, with
--onevision, LlavaOnevisionForConditionalGeneration (a SigLIP tower, with or without its unused
pooling head, and vision_aspect_ratio anyres_max_1 so that tiled feature maps are scaled down), made
here with transformers with a LLaMA, Mistral or Qwen2 decoder with grouped-query attention, saved
with a byte-level BPE tokenizer trained here with <image> added, the generation's image processor
(grid pinpoints of 30-pixel multiples) and a chat template (ChatML for Qwen2, [INST] for Mistral,
LLaVA's USER/ASSISTANT for LLaMA), and what transformers' processor and model give.

  llava_tiled_reference.py OUT llama|mistral|qwen2 [--onevision [--vision-head]] [--module-layout] [--intermediate N]

writes the checkpoint to OUT (in the layout save_pretrained writes: vision_tower.*, image_newline,
language_model.model.*; --module-layout renamed to model.vision_tower.*, model.image_newline,
model.language_model.*, lm_head.*), the images OUT/<name>.png (non-square: wide, tall, small) and
OUT/reference.safetensors with
  <name>.pixel_values, <name>.image_sizes   the image processor's output for each image
  <name>.input_ids                           the one-image chat prompt (a, b) through the processor
  text.input_ids                             a chat prompt without an image
  token_counts                               [300, 3]: height, width and the processor's image tokens
  input_ids, pixel_values, image_sizes       a prompt about both images a and b...
  logits, vision.hidden.<i>, language.hidden.<i>
                                             ...its outputs: the vision embedding then each block's
                                             output (every tile of both images), the decoder's input
                                             then each layer's output
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values,
  generate.image_sizes                       greedy answers of prompts a and c, left-padded in one batch
  generate.both                              greedy answer of the two-image prompt
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

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MISTRAL = (
    "{% for message in messages %}{% if message['role'] == 'user' %}[INST] "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %} [/INST]"
    "{% else %}{{ message['content'][0]['text'] }}{% endif %}{% endfor %}")
VICUNA = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %} ASSISTANT:{% endif %}")

IMAGES = {"a": (37, 101), "b": (95, 41), "c": (20, 26)}  # (height, width)
QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "c": "Is it dark?",
             "text": "Hello, who are you?", "both": "What differs between the two pictures?"}
TILE, PATCH = 30, 6
PINPOINTS = [[30, 60], [60, 30], [60, 60], [90, 30], [30, 90]]
ASPECT_RATIO = "anyres_max_1"  # OneVision: feature maps of more than one tile's worth are scaled down


def write_images(out):
    rng = np.random.default_rng(7)
    images = {}
    for name, (h, w) in IMAGES.items():
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([x * 5, y * 3, x + 2 * y], -1) % 256 + rng.integers(0, 60, (h, w, 3))
        path = os.path.join(out, name + ".png")
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        images[name] = Image.open(path).convert("RGB")
    return images


def make_model(a, tok):
    text = dict(model_type=a.text, hidden_size=48, intermediate_size=a.intermediate, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tok), max_position_embeddings=512)
    if a.text == "mistral":
        text.update(sliding_window=4096, rope_theta=1000000.0)
    common = dict(text_config=text, image_grid_pinpoints=PINPOINTS, image_token_index=tok.convert_tokens_to_ids("<image>"),
                  projector_hidden_act="gelu")
    torch.manual_seed(0)
    if a.onevision:
        vision = dict(model_type="siglip_vision_model", hidden_size=40, intermediate_size=37, num_hidden_layers=3,
                      num_attention_heads=2, image_size=TILE, patch_size=PATCH, vision_use_head=a.vision_head)
        cfg = tf.LlavaOnevisionConfig(vision_config=vision, vision_feature_layer=-1, vision_feature_select_strategy="full",
                                      vision_aspect_ratio=ASPECT_RATIO, **common)
        return tf.LlavaOnevisionForConditionalGeneration(cfg).eval()
    vision = dict(model_type="clip_vision_model", hidden_size=40, intermediate_size=37, num_hidden_layers=3,
                  num_attention_heads=2, image_size=TILE, patch_size=PATCH, projection_dim=16)
    cfg = tf.LlavaNextConfig(vision_config=vision, vision_feature_layer=-2, vision_feature_select_strategy="default", **common)
    return tf.LlavaNextForConditionalGeneration(cfg).eval()


def make_processor(a, tok, template):
    if a.onevision:
        image_processor = tf.LlavaOnevisionImageProcessor(size={"height": TILE, "width": TILE}, image_grid_pinpoints=PINPOINTS)
        return image_processor, tf.LlavaOnevisionProcessor(
            image_processor=image_processor, tokenizer=tok, video_processor=tf.LlavaOnevisionVideoProcessor(),
            num_image_tokens=(TILE // PATCH) ** 2, vision_feature_select_strategy="full", vision_aspect_ratio=ASPECT_RATIO,
            chat_template=template)
    image_processor = tf.LlavaNextImageProcessor(size={"shortest_edge": TILE}, crop_size={"height": TILE, "width": TILE},
                                                 image_grid_pinpoints=PINPOINTS)
    return image_processor, tf.LlavaNextProcessor(image_processor=image_processor, tokenizer=tok, patch_size=PATCH,
                                                  vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                                  chat_template=template)


def to_module_layout(path):
    renamed = {}
    for k, v in load_file(path).items():
        if k.startswith("language_model.model."):
            k = "model.language_model." + k[len("language_model.model."):]
        elif k.startswith("language_model.lm_head."):
            k = k[len("language_model."):]
        elif k.startswith(("vision_tower.", "multi_modal_projector.", "image_newline")):
            k = "model." + k
        renamed[k] = v.clone()
    save_file(renamed, path, metadata={"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("text", choices=["llama", "mistral", "qwen2"])
    ap.add_argument("--onevision", action="store_true")
    ap.add_argument("--vision-head", action="store_true", help="OneVision: keep SigLIP's pooling head (unused)")
    ap.add_argument("--module-layout", action="store_true")
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    template = CHATML if a.onevision else {"qwen2": CHATML, "mistral": MISTRAL}.get(a.text, VICUNA)
    make_split_bpe(a.out, "qwen2")
    tok = tf.Qwen2TokenizerFast.from_pretrained(a.out, chat_template=template, padding_side="left")
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    tok.save_pretrained(a.out)
    image_processor, processor = make_processor(a, tok, template)
    image_processor.save_pretrained(a.out)
    model = make_model(a, tok)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.module_layout:
        to_module_layout(os.path.join(a.out, "model.safetensors"))
    images = write_images(a.out)

    ref = {}
    for name, image in images.items():
        px = image_processor(images=[image], return_tensors="pt")
        ref[name + ".pixel_values"] = px["pixel_values"]
        ref[name + ".image_sizes"] = px["image_sizes"]

    def prompt(names, question):
        content = [{"type": "image"} for _ in names] + [{"type": "text", "text": question}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    for name in ("a", "b", "c"):
        ref[name + ".input_ids"] = processor(text=[prompt([name], QUESTIONS[name])], images=[images[name]],
                                             return_tensors="pt")["input_ids"]
    ref["text.input_ids"] = processor(text=[prompt([], QUESTIONS["text"])], return_tensors="pt")["input_ids"]
    # The processor's image-token count for 300 image sizes, extremes of aspect ratio included.
    rng = np.random.default_rng(3)
    sizes = [[int(h), int(w)] for h, w in rng.integers(1, 400, (296, 2))] + [[1, 999], [999, 1], [30, 30], [61, 29]]
    counts = processor._get_num_multimodal_tokens(image_sizes=sizes)["num_image_tokens"]
    ref["token_counts"] = torch.tensor([s + [n] for s, n in zip(sizes, counts)])

    both = processor(text=[prompt(["a", "b"], QUESTIONS["both"])], images=[images["a"], images["b"]], return_tensors="pt")
    vision, layers = model.model.vision_tower.vision_model, model.model.language_model.layers
    embedding = vision.embeddings if a.onevision else vision.pre_layrnorm
    # Decoder layer outputs before the final norm.
    hooks = hidden_states.record(ref, "vision", vision.encoder.layers, embedding) + hidden_states.record(ref, "language", layers)
    with torch.no_grad():
        out = model(**both)
    for h in hooks:
        h.remove()
    ref.update(input_ids=both["input_ids"], pixel_values=both["pixel_values"], image_sizes=both["image_sizes"],
               logits=out.logits)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = processor(text=[prompt(["a"], QUESTIONS["a"]), prompt(["c"], QUESTIONS["c"])], images=[images["a"], images["c"]],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(**batch, **gen)[:, n:]
        ref["generate.both"] = model.generate(**both, **gen)[:, both["input_ids"].shape[1]:]
    for k in ("input_ids", "attention_mask", "pixel_values", "image_sizes"):
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
