"""Reference for the assembled default model: what transformers gives for it on Fashion-MNIST test
images, read here with numpy from the same IDX files.

  default_reference.py OUT MODEL_DIR DATA_DIR N_PARITY N_ZERO_SHOT

writes OUT/reference.safetensors: pixel_values, input_ids and logits_per_image of the first
N_PARITY test images against the 60 class prompts, and the prompt-ensembled zero-shot predictions
of the first N_ZERO_SHOT images; prints {"top1": percent} of those predictions.
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
import transformers as tf
from PIL import Image
from safetensors.torch import save_file

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
TEMPLATES = ["a photo of a {}.", "a photo of the {}.", "a black and white photo of a {}.",
             "a low resolution photo of a {}.", "a product photo of a {}.", "a photo of a piece of clothing: a {}."]


def idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(out, model_dir, data_dir, n_parity, n_zero_shot):
    os.makedirs(out, exist_ok=True)
    images = idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    labels = idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    processor = tf.ViTImageProcessor.from_pretrained(model_dir)
    tokenizer = tf.BertTokenizer.from_pretrained(model_dir)
    model = tf.VisionTextDualEncoderModel.from_pretrained(model_dir).eval()
    prompts = [t.format(c) for c in CLASSES for t in TEMPLATES]
    text = tokenizer(prompts, padding=True, return_tensors="pt")
    pixels = processor(images=[Image.fromarray(x, "L") for x in images[:n_zero_shot]], return_tensors="pt").pixel_values
    with torch.no_grad():
        logits = model(input_ids=text.input_ids, attention_mask=text.attention_mask,
                       pixel_values=pixels[:n_parity]).logits_per_image
        t = model.get_text_features(input_ids=text.input_ids, attention_mask=text.attention_mask)
        t = t / t.norm(dim=-1, keepdim=True)
        classes = t.view(len(CLASSES), len(TEMPLATES), -1).mean(1)
        classes = classes / classes.norm(dim=-1, keepdim=True)
        v = model.get_image_features(pixel_values=pixels)
        pred = (v / v.norm(dim=-1, keepdim=True) @ classes.T).argmax(1)
    save_file({"pixel_values": pixels[:n_parity].contiguous(), "input_ids": text.input_ids.contiguous(),
               "logits_per_image": logits.contiguous(), "predictions": pred.contiguous()},
              os.path.join(out, "reference.safetensors"))
    print(json.dumps({"top1": float((pred.numpy() == labels[:n_zero_shot]).mean() * 100)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
