"""End-to-end reference for `prunestudio-cli run`: a tiny model saved together with a real
tokenizer and image processor, a test image, and what transformers' processor + model give.

  run_reference.py OUT dual    VisionTextDualEncoder (ViT + BERT with the all-MiniLM-L6-v2
                               vocabulary); prints {"texts", "logits_per_image"}
  run_reference.py OUT llava   LLaVA-1.5 with a SentencePiece tokenizer trained here and an
                               "<image>" token; prints {"question", "ids", "answer"} of greedy
                               generation through LlavaProcessor
"""
import json
import os
import sys

import numpy as np
import torch
import transformers as tf
from PIL import Image

from tiny_models import tiny
from tokenizer_reference import make_sentencepiece, make_wordpiece


def write_image(path):
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:97, 0:131]
    img = np.stack([x * 2, y * 2, (x + y)], -1) % 256 + rng.integers(0, 40, (97, 131, 3))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return Image.open(path).convert("RGB")


def dual(out):
    tok = make_wordpiece(out)
    image_processor = tf.ViTImageProcessor(size={"height": 30, "width": 30})
    cfg = tf.VisionTextDualEncoderConfig.from_vision_text_configs(
        tf.ViTConfig(**tiny(image_size=30, patch_size=6)), tf.BertConfig(**tiny(vocab_size=len(tok))), projection_dim=16)
    torch.manual_seed(0)
    model = tf.VisionTextDualEncoderModel(cfg).eval()
    model.save_pretrained(out)
    image_processor.save_pretrained(out)
    image = write_image(os.path.join(out, "image.png"))
    texts = ["a photo of a cat", "two dogs playing in the snow!", "a sneaker"]
    processor = tf.VisionTextDualEncoderProcessor(image_processor=image_processor, tokenizer=tok)
    inputs = processor(text=texts, images=[image], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**inputs).logits_per_image
    print(json.dumps({"texts": texts, "logits_per_image": logits.tolist()}))


def make_llava(out):
    """The tiny LLaVA-1.5 saved to `out`: (model, tokenizer, processor)."""
    tok = make_sentencepiece(out, os.path.join(out, "sp-work"))
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    tok.save_pretrained(out)
    image_token = tok.convert_tokens_to_ids("<image>")
    image_processor = tf.CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})
    cfg = tf.LlavaConfig(vision_config=tf.CLIPVisionConfig(**tiny(image_size=30, patch_size=6)),
                         text_config=tf.LlamaConfig(**tiny(num_key_value_heads=2, vocab_size=image_token + 1)),
                         image_token_index=image_token, image_seq_length=25)
    torch.manual_seed(0)
    model = tf.LlavaForConditionalGeneration(cfg).eval()
    model.save_pretrained(out)
    image_processor.save_pretrained(out)
    processor = tf.LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=6, num_additional_image_tokens=1,
                                  vision_feature_select_strategy="default")
    return model, tok, processor


def llava(out):
    model, tok, processor = make_llava(out)
    image = write_image(os.path.join(out, "image.png"))
    question = "What is shown in this picture?"
    inputs = processor(text=f"USER: <image>\n{question} ASSISTANT:", images=image, return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**inputs, do_sample=False, max_new_tokens=8)[0, inputs["input_ids"].shape[1]:]
    print(json.dumps({"question": question, "prompt_ids": inputs["input_ids"][0].tolist(), "ids": ids.tolist(),
                      "answer": tok.decode(ids, skip_special_tokens=True)}))


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    {"dual": dual, "llava": llava}[sys.argv[2]](sys.argv[1])
