"""Reference for Idefics3 and SmolVLM in core/model/idefics3.cpp: a tiny random
SmolVLMForConditionalGeneration (smolvlm: SmolLM2's tokenizer, a vision tower of 36-pixel images in
6-pixel patches, pixel shuffle by 3) or Idefics3ForConditionalGeneration (idefics3: a Llama-3-style
tokenizer trained here, 28-pixel images in 7-pixel patches, pixel shuffle by 2), each with a LLaMA
decoder with grouped-query attention, made here with transformers and saved with the family's added
tokens (<fake_token_around_image>, <image>, <global-img>, <row_r_col_c>, <end_of_utterance>), its
image processor (images resized to four tiles' length on their longer side, split into tiles and a
global image) and chat template; and what transformers' processor and model give, with the vision
position ids the models were trained with (idefics3_positions.py).

  idefics3_reference.py OUT smolvlm|idefics3 [--intermediate N]

writes the checkpoint to OUT, the images OUT/<name>.png (non-square: wide, tall, small) and
OUT/reference.safetensors with
  <name>.pixel_values, <name>.tiles     the image processor's views [views, 3, S, S] and tile grid
  <name>.input_ids                      the one-image chat prompt (a, b, c) through the processor
  text.input_ids                        a chat prompt without an image
  tile_counts                           [300, 4]: height, width and the processor's rows and columns
  input_ids, pixel_values               a prompt about both images a and b (pixel_values as the
                                        processor batches them, [1, views, 3, S, S])...
  logits, vision.hidden.<i>, language.hidden.<i>
                                        ...its outputs: the vision embedding then each block's output
                                        (every view of both images), the decoder's input then each
                                        layer's output
  generate.ids, generate.attention_mask, generate.input_ids, generate.pixel_values
                                        greedy answers of prompts a and c, left-padded in one batch
                                        (the fewer views padded with zero images)
  generate.both                         greedy answer of the two-image prompt
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
from idefics3_positions import use_trained_positions
from internvl_reference import write_images
from tokenizer_reference import make_smollm2, make_split_bpe

TEMPLATE = ("{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}"
            "{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}"
            "{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
            "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")
QUESTIONS = {"a": "What is shown in this picture?", "b": "Describe the colours.", "c": "Is it dark?",
             "text": "Hello, who are you?", "both": "What differs between the two pictures?"}
VARIANTS = {  # (vision image size, patch size, scale factor, BOS the template starts with)
    "smolvlm": (36, 6, 3, "<|im_start|>"),
    "idefics3": (28, 7, 2, "<|begin_of_text|>"),
}
MAX_TILES = 4  # a side: the longer side is resized to this many tiles' length


def make_tokenizer(out, variant):
    tok = make_smollm2(out) if variant == "smolvlm" else make_split_bpe(out, "llama3")
    markers = [f"<row_{r}_col_{c}>" for r in range(1, MAX_TILES + 1) for c in range(1, MAX_TILES + 1)]
    tok.add_special_tokens({"additional_special_tokens": ["<fake_token_around_image>", "<image>", "<global-img>",
                                                          "<end_of_utterance>"] + markers})
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    tok.save_pretrained(out)
    return tf.AutoTokenizer.from_pretrained(out)


def make_model(variant, tok, intermediate):
    size, patch, scale, _ = VARIANTS[variant]
    vision = dict(hidden_size=24, intermediate_size=29, num_hidden_layers=2, num_attention_heads=2, image_size=size,
                  patch_size=patch)
    text = dict(model_type="llama", hidden_size=48, intermediate_size=intermediate, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tok), max_position_embeddings=1024,
                rms_norm_eps=1e-5, pad_token_id=tok.pad_token_id)
    config_class, model_class = ((tf.SmolVLMConfig, tf.SmolVLMForConditionalGeneration) if variant == "smolvlm" else
                                 (tf.Idefics3Config, tf.Idefics3ForConditionalGeneration))
    cfg = config_class(vision_config=vision, text_config=text, scale_factor=scale,
                       image_token_id=tok.convert_tokens_to_ids("<image>"), pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    return model_class(cfg).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("variant", choices=sorted(VARIANTS))
    ap.add_argument("--intermediate", type=int, default=37, help="the decoder's MLP width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    use_trained_positions()
    size, patch, scale, bos = VARIANTS[a.variant]
    seq_len = (size // patch // scale) ** 2

    tok = make_tokenizer(a.out, a.variant)
    processor_classes = ((tf.SmolVLMImageProcessor, tf.SmolVLMProcessor) if a.variant == "smolvlm" else
                         (tf.Idefics3ImageProcessor, tf.Idefics3Processor))
    image_processor = processor_classes[0](size={"longest_edge": MAX_TILES * size}, max_image_size={"longest_edge": size})
    extra = {"video_processor": tf.SmolVLMVideoProcessor()} if a.variant == "smolvlm" else {}
    processor = processor_classes[1](image_processor=image_processor, tokenizer=tok, image_seq_len=seq_len,
                                     chat_template=bos + TEMPLATE, **extra)
    processor.save_pretrained(a.out)
    model = make_model(a.variant, tok, a.intermediate)
    model.save_pretrained(a.out, safe_serialization=True)
    images = write_images(a.out)

    def prompt(names, question):
        content = [{"type": "image"} for _ in names] + [{"type": "text", "text": question}]
        return processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    def process(prompts, image_lists):
        kwargs = dict(images=image_lists) if image_lists else {}
        return processor(text=prompts, add_special_tokens=not prompts[0].startswith(tok.bos_token or "\0"), padding=True, padding_side="left",
                         return_tensors="pt", **kwargs)

    ref = {}
    for name, image in images.items():
        px = image_processor(images=[[image]], return_row_col_info=True, return_tensors="pt")
        ref[name + ".pixel_values"] = px["pixel_values"][0]
        ref[name + ".tiles"] = torch.tensor([px["rows"][0][0], px["cols"][0][0]])
        ref[name + ".input_ids"] = process([prompt([name], QUESTIONS[name])], [[image]])["input_ids"]
    ref["text.input_ids"] = process([prompt([], QUESTIONS["text"])], None)["input_ids"]
    rng = np.random.default_rng(3)
    sizes = [[int(h), int(w)] for h, w in rng.integers(1, 400, (296, 2))] + [[1, 999], [999, 1], [size, size], [61, 29]]
    counts = []
    for h, w in sizes:
        info = image_processor(images=[[Image.new("RGB", (w, h))]], return_row_col_info=True, input_data_format="channels_last")
        counts.append([h, w, info["rows"][0][0], info["cols"][0][0]])
    ref["tile_counts"] = torch.tensor(counts)

    both = process([prompt(["a", "b"], QUESTIONS["both"])], [[images["a"], images["b"]]])
    vision, layers = model.model.vision_model, model.model.text_model.layers
    hooks = (hidden_states.record(ref, "vision", vision.encoder.layers, vision.embeddings) +
             hidden_states.record(ref, "language", layers))
    with torch.no_grad():
        out = model(input_ids=both["input_ids"], pixel_values=both["pixel_values"])
    for h in hooks:
        h.remove()
    ref.update(input_ids=both["input_ids"], pixel_values=both["pixel_values"], logits=out.logits)

    model.generation_config.eos_token_id = None
    gen = dict(max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    batch = process([prompt(["a"], QUESTIONS["a"]), prompt(["c"], QUESTIONS["c"])], [[images["a"]], [images["c"]]])
    with torch.no_grad():
        n = batch["input_ids"].shape[1]
        ref["generate.ids"] = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                             pixel_values=batch["pixel_values"], **gen)[:, n:]
        ref["generate.both"] = model.generate(input_ids=both["input_ids"], pixel_values=both["pixel_values"],
                                              **gen)[:, both["input_ids"].shape[1]:]
    for k in ("input_ids", "attention_mask", "pixel_values"):
        ref["generate." + k] = batch[k]
    save_file({k: v.detach().contiguous() for k, v in ref.items()}, os.path.join(a.out, "reference.safetensors"))
    print(json.dumps(QUESTIONS))


if __name__ == "__main__":
    main()
