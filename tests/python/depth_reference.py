"""Reference for depth pruning: transformers loads a depth-pruned VisionTextDualEncoder folder and
runs it on inputs the C++ side saved.

  depth_reference.py MODEL_DIR INPUTS OUT

INPUTS: safetensors with input_ids, attention_mask and pixel_values. Fails when a weight is missing
or left over; writes OUT (safetensors) with logits_per_image and prints
{"text_layers": n, "vision_layers": n} as transformers built the model.
"""
import json
import sys

import torch
import transformers as tf
from safetensors.torch import load_file, save_file


def main(model_dir, inputs, out):
    x = load_file(inputs)
    model, info = tf.VisionTextDualEncoderModel.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    if info["missing_keys"] or info["unexpected_keys"]:
        sys.exit(f"{model_dir}: missing {info['missing_keys']}, unexpected {info['unexpected_keys']}")
    with torch.no_grad():
        logits = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"],
                       pixel_values=x["pixel_values"]).logits_per_image
    save_file({"logits_per_image": logits.contiguous()}, out)
    print(json.dumps({"text_layers": len(model.text_model.encoder.layer),
                      "vision_layers": len(model.vision_model.encoder.layer)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
