"""Reference for InternVL in core/model/internvl.cpp: a tiny random InternVLForConditionalGeneration
made here with transformers (an InternViT of odd sizes on 28-pixel tiles of 7-pixel patches, with
layer scale, the normalisation --norm names, q/k norms with --qk-norm, and the final layernorm
without mean pooling; pixel shuffle and the LayerNorm-MLP projector; a Qwen2 decoder with
grouped-query attention), saved with a byte-level BPE tokenizer trained here with InternVL's image
tokens (<img>, </img>, <IMG_CONTEXT>) added, GotOcr2ImageProcessor cutting images into up to
--max-patches tiles with a thumbnail, and a ChatML template; and what transformers' processor and
model give.

  internvl_reference.py OUT [--norm layer_norm|rms_norm] [--qk-norm] [--mean-pooling] [--module-layout] [--intermediate N]

writes the checkpoint to OUT (in the layout save_pretrained writes: vision_tower.*,
multi_modal_projector.*, language_model.model.*; --module-layout renamed to model.vision_tower.*,
model.multi_modal_projector.*, model.language_model.*, lm_head.*), the images OUT/<name>.png (non-square: wide, tall, small) and
OUT/reference.safetensors with
  <name>.pixel_values, <name>.num_patches   the image processor's output for each image
  <name>.input_ids                          the one-image chat prompt (a, b, c) through the processor
  text.input_ids                            a chat prompt without an image
  patch_counts                              [300, 3]: height, width and the processor's tiles
  input_ids, pixel_values, num_patches      a prompt about both images a and b...
  logits, vision.hidden.<i>, language.hidden.<i>
                                            ...its outputs: the vision embedding then each block's
                                            output (every tile of both images), the decoder's input
                                            then each layer's output
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values
                                            greedy answers of prompts a and c, left-padded in one batch
  generate.both                             greedy answer of the two-image prompt
and prints the questions as JSON.
"""
import argparse
import json
import os

import numpy as np
import torch
import transformers as tf
from PIL import Image
from safetensors.torch import save_file

import hidden_states
from llava_tiled_reference import to_module_layout
from tokenizer_reference import make_split_bpe

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
IMAGE_TOKENS = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
                "video_token": "<video>"}
IMAGES = {"a": (37, 101), "b": (95, 41), "c": (20, 26)}  # (height, width)
QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "c": "Is it dark?",
             "text": "Hello, who are you?", "both": "What differs between the two pictures?"}
TILE, PATCH, MAX_PATCHES = 28, 7, 6
IMAGE_SEQ_LENGTH = (TILE // PATCH) ** 2 // 4  # pixel shuffle at 0.5: 4 of a tile's 16 patches' places


def write_images(out):
    rng = np.random.default_rng(11)
    images = {}
    for name, (h, w) in IMAGES.items():
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([x * 4, y * 5, 3 * x + y], -1) % 256 + rng.integers(0, 60, (h, w, 3))
        path = os.path.join(out, name + ".png")
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        images[name] = Image.open(path).convert("RGB")
    return images


def make_model(a, tok):
    vision = dict(hidden_size=40, intermediate_size=37, num_hidden_layers=3, num_attention_heads=2, image_size=TILE,
                  patch_size=PATCH, norm_type=a.norm, use_qk_norm=a.qk_norm, attention_bias=True,
                  use_mean_pooling=a.mean_pooling, layer_scale_init_value=0.5)
    text = dict(model_type="qwen2", hidden_size=48, intermediate_size=a.intermediate, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tok), max_position_embeddings=512)
    cfg = tf.InternVLConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
                            image_seq_length=IMAGE_SEQ_LENGTH, downsample_ratio=0.5, projector_hidden_act="gelu")
    torch.manual_seed(0)
    model = tf.InternVLForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # random layer scales, position embeddings and [CLS] (initialised to constants or zero)
        for name, p in model.named_parameters():
            if name.endswith(("lambda_1", "lambda_2", "cls_token", "position_embeddings")):
                p.copy_(torch.randn_like(p) * 0.5)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--norm", choices=["layer_norm", "rms_norm"], default="layer_norm")
    ap.add_argument("--qk-norm", action="store_true")
    ap.add_argument("--mean-pooling", action="store_true", help="no final layernorm (InternVLVisionConfig's default)")
    ap.add_argument("--module-layout", action="store_true")
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    make_split_bpe(a.out, "qwen2")
    tok = tf.Qwen2TokenizerFast.from_pretrained(a.out, chat_template=CHATML, padding_side="left",
                                                extra_special_tokens=IMAGE_TOKENS)
    tok.add_special_tokens({"additional_special_tokens": list(IMAGE_TOKENS.values())})
    tok.save_pretrained(a.out)
    tok = tf.AutoTokenizer.from_pretrained(a.out)
    image_processor = tf.GotOcr2ImageProcessor(size={"height": TILE, "width": TILE}, crop_to_patches=True, min_patches=1,
                                               max_patches=MAX_PATCHES, image_mean=[0.485, 0.456, 0.406],
                                               image_std=[0.229, 0.224, 0.225])
    processor = tf.InternVLProcessor(image_processor=image_processor, tokenizer=tok,
                                     video_processor=tf.InternVLVideoProcessor(), image_seq_length=IMAGE_SEQ_LENGTH,
                                     chat_template=CHATML)
    processor.save_pretrained(a.out)
    model = make_model(a, tok)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.module_layout:
        to_module_layout(os.path.join(a.out, "model.safetensors"))
    images = write_images(a.out)

    ref = {}
    for name, image in images.items():
        px = image_processor(images=[image], crop_to_patches=True, return_tensors="pt")
        ref[name + ".pixel_values"] = px["pixel_values"]
        ref[name + ".num_patches"] = torch.as_tensor(px["num_patches"])

    def prompt(names, question):
        content = [{"type": "image"} for _ in names] + [{"type": "text", "text": question}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    for name in ("a", "b", "c"):
        ref[name + ".input_ids"] = processor(text=[prompt([name], QUESTIONS[name])], images=[images[name]],
                                             return_tensors="pt")["input_ids"]
    ref["text.input_ids"] = processor(text=[prompt([], QUESTIONS["text"])], return_tensors="pt")["input_ids"]
    rng = np.random.default_rng(3)
    sizes = [[int(h), int(w)] for h, w in rng.integers(1, 400, (296, 2))] + [[1, 999], [999, 1], [28, 28], [61, 29]]
    counts = [image_processor.get_number_of_image_patches(h, w, {"crop_to_patches": True}) for h, w in sizes]
    ref["patch_counts"] = torch.tensor([s + [n] for s, n in zip(sizes, counts)])

    both = processor(text=[prompt(["a", "b"], QUESTIONS["both"])], images=[images["a"], images["b"]], return_tensors="pt")
    vision, layers = model.model.vision_tower, model.model.language_model.layers
    # Decoder layer outputs before the final norm.
    hooks = (hidden_states.record(ref, "vision", vision.encoder.layer, vision.embeddings) +
             hidden_states.record(ref, "language", layers))
    with torch.no_grad():
        out = model(**both)
    for h in hooks:
        h.remove()
    ref.update(input_ids=both["input_ids"], pixel_values=both["pixel_values"], logits=out.logits)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = processor(text=[prompt(["a"], QUESTIONS["a"]), prompt(["c"], QUESTIONS["c"])], images=[images["a"], images["c"]],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(**batch, **gen)[:, n:]
        ref["generate.both"] = model.generate(**both, **gen)[:, both["input_ids"].shape[1]:]
    for k in ("input_ids", "attention_mask", "pixel_values"):
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
