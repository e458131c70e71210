"""Reference for BLIP-2 in core/model/blip2.cpp: a tiny random Blip2ForConditionalGeneration made
here with transformers (a ViT with fused qkv and q/v biases on 28-pixel images of 7-pixel patches; a
Q-Former of 4 queries with cross-attention every other layer; an OPT decoder), every parameter drawn
at random, saved with a byte-level BPE tokenizer trained here (<image> added), BlipImageProcessor and
Blip2Processor; and what transformers' processor and model give.

  blip2_reference.py OUT [--intermediate N]

writes the checkpoint to OUT, the images OUT/<name>.png and OUT/reference.safetensors with
  <name>.pixel_values                   the image processor's output for each image
  <name>.input_ids                      the prompt "Question: ... Answer:" about image a, b or c
  text.input_ids                        the prompt without an image
  input_ids, pixel_values               image a's prompt and image...
  logits, vision.hidden.<i>, qformer.hidden.<i>, language.hidden.<i>
                                        ...its outputs: each tower's input then each block's output
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values
                                        greedy answers of prompts a and c, left-padded in one batch
  generate.both                         greedy answer of image a's prompt
and prints the questions as JSON.
"""
import argparse
import json
import os

import torch
import transformers as tf
from safetensors.torch import save_file

import hidden_states
from internvl_reference import write_images
from tokenizer_reference import make_split_bpe

QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "c": "Is it dark?",
             "text": "Hello, who are you?", "both": "What is shown in this picture?"}
SIZE, PATCH, QUERIES = 28, 7, 4


def make_model(tok, intermediate):
    vision = dict(hidden_size=24, intermediate_size=29, num_hidden_layers=2, num_attention_heads=2, image_size=SIZE,
                  patch_size=PATCH, qkv_bias=True)
    qformer = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=3, num_attention_heads=4, vocab_size=99,
                   cross_attention_frequency=2)
    text = dict(model_type="opt", hidden_size=48, ffn_dim=intermediate, num_hidden_layers=2, num_attention_heads=4,
                vocab_size=len(tok), max_position_embeddings=256, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = tf.Blip2Config(vision_config=vision, qformer_config=qformer, text_config=text, num_query_tokens=QUERIES,
                         image_token_index=tok.convert_tokens_to_ids("<image>"))
    torch.manual_seed(0)
    model = tf.Blip2ForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # the vision tower starts near zero (initializer_range 1e-10), norms at one, biases at zero
        for _name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if p.dim() < 2 else 0.2))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width (ffn_dim)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    make_split_bpe(a.out, "llama3")
    tok = tf.AutoTokenizer.from_pretrained(a.out, padding_side="left")
    tok.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<image>"]})
    tok.save_pretrained(a.out)
    tok = tf.AutoTokenizer.from_pretrained(a.out)
    image_processor = tf.BlipImageProcessor(size={"height": SIZE, "width": SIZE})
    processor = tf.Blip2Processor(image_processor=image_processor, tokenizer=tok, num_query_tokens=QUERIES)
    processor.save_pretrained(a.out)
    model = make_model(tok, a.intermediate)
    model.save_pretrained(a.out, safe_serialization=True)
    images = write_images(a.out)

    def process(names, text_only=False):
        prompts = [f"Question: {QUESTIONS['text' if text_only else n]} Answer:" for n in names]
        kwargs = {} if text_only else dict(images=[images[n] for n in names])
        return processor(text=prompts, padding=True, padding_side="left", return_tensors="pt", **kwargs)

    ref = {}
    for name in ("a", "b", "c"):
        enc = process([name])
        ref[name + ".pixel_values"] = enc["pixel_values"]
        ref[name + ".input_ids"] = enc["input_ids"]
    ref["text.input_ids"] = process(["a"], text_only=True)["input_ids"]

    one = process(["a"])
    hooks = (hidden_states.record(ref, "vision", model.vision_model.encoder.layers, model.vision_model.embeddings) +
             hidden_states.record(ref, "qformer", model.qformer.encoder.layer) +
             hidden_states.record(ref, "language", model.language_model.model.decoder.layers))
    with torch.no_grad():
        out = model(input_ids=one["input_ids"], pixel_values=one["pixel_values"])
    for h in hooks:
        h.remove()
    ref.update(input_ids=one["input_ids"], pixel_values=one["pixel_values"], logits=out.logits)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = process(["a", "c"])
    keys = ("input_ids", "attention_mask", "pixel_values")
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(**{k: batch[k] for k in keys}, **gen)[:, n:]
        ref["generate.both"] = model.generate(input_ids=one["input_ids"], pixel_values=one["pixel_values"],
                                              **gen)[:, one["input_ids"].shape[1]:]
    for k in keys:
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
