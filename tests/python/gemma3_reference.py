"""Reference for Gemma 3 in core/model/gemma3.cpp: a tiny random Gemma3ForConditionalGeneration made
here with transformers (a SigLIP vision tower of odd sizes on 28-pixel images of 7-pixel patches,
pooled to 4 tokens an image; a Gemma 3 decoder with grouped-query attention, local and global
layers, linear rope scaling on the global ones and every RMSNorm weight drawn at random), saved with
a Gemma-style tokenizer trained here (tokenizer_reference.make_gemma), Gemma3ImageProcessor and a
Gemma 3 chat template; and what transformers' processor and model give.

  gemma3_reference.py OUT [--hub-layout] [--intermediate N]

writes the checkpoint to OUT (in the layout save_pretrained writes: model.vision_tower.*,
model.multi_modal_projector.*, model.language_model.*; --hub-layout renamed to vision_tower.*,
multi_modal_projector.*, language_model.model.*, as the Hub's checkpoints are), the images
OUT/<name>.png and OUT/reference.safetensors with
  <name>.pixel_values                   the image processor's output for each image
  <name>.input_ids                      the one-image chat prompt (a, b, c) through the processor
  text.input_ids                        a chat prompt without an image
  input_ids, pixel_values, token_type_ids
                                        a prompt about both images a and b...
  logits, vision.hidden.<i>, language.hidden.<i>
                                        ...its outputs (image tokens attending to their image both
                                        ways, as token_type_ids ask): the vision embedding then each
                                        block's output, the decoder's input then each layer's output
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values,
  generate.token_type_ids               greedy answers of prompts a and c, left-padded in one batch
  generate.both                         greedy answer of the two-image prompt
and prints the questions as JSON.
"""
import argparse
import json
import os

import torch
import transformers as tf
from safetensors.torch import load_file, save_file

import hidden_states
from internvl_reference import write_images
from tokenizer_reference import make_gemma

TEMPLATE = ("{{ bos_token }}{% for message in messages %}<start_of_turn>"
            "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
            "{% for item in message['content'] %}{% if item['type'] == 'image' %}<start_of_image>"
            "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}{% endfor %}<end_of_turn>\n{% endfor %}"
            "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
IMAGE_TOKENS = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "c": "Is it dark?",
             "text": "Hello, who are you?", "both": "What differs between the two pictures?"}
SIZE, PATCH, TOKENS = 28, 7, 4


def to_hub_layout(path):
    renamed = {}
    for k, v in load_file(path).items():
        if k.startswith("model.language_model."):
            k = "language_model.model." + k[len("model.language_model."):]
        elif k.startswith("model."):
            k = k[len("model."):]
        renamed[k] = v.clone()
    save_file(renamed, path, metadata={"format": "pt"})


def make_model(tok, intermediate):
    vision = dict(hidden_size=24, intermediate_size=29, num_hidden_layers=2, num_attention_heads=2, image_size=SIZE,
                  patch_size=PATCH, vision_use_head=False)
    text = dict(hidden_size=48, intermediate_size=intermediate, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=20, vocab_size=len(tok),
                layer_types=["sliding_attention", "full_attention", "sliding_attention"], sliding_window=512,
                rope_theta=1e6, rope_local_base_freq=1e4, rope_scaling={"rope_type": "linear", "factor": 2.0},
                max_position_embeddings=1024, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id)
    cfg = tf.Gemma3Config(vision_config=vision, text_config=text, mm_tokens_per_image=TOKENS,
                          image_token_index=tok.convert_tokens_to_ids("<image_soft_token>"),
                          boi_token_index=tok.convert_tokens_to_ids("<start_of_image>"),
                          eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"))
    torch.manual_seed(0)
    model = tf.Gemma3ForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # Gemma's norms start at zero (a scale of 1); the projection too
        for name, p in model.named_parameters():
            if "norm" in name or "mm_input_projection" in name:
                p.copy_(torch.randn_like(p) * 0.5)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hub-layout", action="store_true")
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    make_gemma(a.out)
    tok = tf.GemmaTokenizerFast.from_pretrained(a.out, extra_special_tokens=IMAGE_TOKENS, padding_side="left")
    tok.save_pretrained(a.out)
    tok = tf.AutoTokenizer.from_pretrained(a.out)
    image_processor = tf.Gemma3ImageProcessor(size={"height": SIZE, "width": SIZE})
    processor = tf.Gemma3Processor(image_processor=image_processor, tokenizer=tok, image_seq_length=TOKENS,
                                   chat_template=TEMPLATE)
    processor.save_pretrained(a.out)
    model = make_model(tok, a.intermediate)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.hub_layout:
        to_hub_layout(os.path.join(a.out, "model.safetensors"))
    images = write_images(a.out)

    def prompt(names, question):
        content = [{"type": "image"} for _ in names] + [{"type": "text", "text": question}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    def process(prompts, image_lists):
        kwargs = dict(images=image_lists) if image_lists else {}
        return processor(text=prompts, add_special_tokens=False, padding=True, padding_side="left", return_tensors="pt",
                         **kwargs)

    ref = {}
    for name, image in images.items():
        ref[name + ".pixel_values"] = image_processor(images=[image], return_tensors="pt")["pixel_values"]
        ref[name + ".input_ids"] = process([prompt([name], QUESTIONS[name])], [[image]])["input_ids"]
    ref["text.input_ids"] = process([prompt([], QUESTIONS["text"])], None)["input_ids"]

    both = process([prompt(["a", "b"], QUESTIONS["both"])], [[images["a"], images["b"]]])
    vision, layers = model.model.vision_tower.vision_model, model.model.language_model.layers
    hooks = (hidden_states.record(ref, "vision", vision.encoder.layers, vision.embeddings) +
             hidden_states.record(ref, "language", layers))
    inputs = {k: both[k] for k in ("input_ids", "pixel_values", "token_type_ids")}
    with torch.no_grad():
        out = model(**inputs)
    for h in hooks:
        h.remove()
    ref.update(logits=out.logits, **inputs)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = process([prompt(["a"], QUESTIONS["a"]), prompt(["c"], QUESTIONS["c"])], [[images["a"]], [images["c"]]])
    keys = ("input_ids", "attention_mask", "pixel_values", "token_type_ids")
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(**{k: batch[k] for k in keys}, **gen)[:, n:]
        ref["generate.both"] = model.generate(**inputs, **gen)[:, both["input_ids"].shape[1]:]
    for k in keys:
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
