"""transformers as the reference for the generative default (build/default-vlm) and checkpoints
pruned from it: LlavaForConditionalGeneration, AutoProcessor and the chat template read from the
folder as written, nothing downloaded.

  default_vlm_reference.py answers DIR OUT N   greedy answers (8 new tokens) to "What is the item in
                                               this image?" about the first N Fashion-MNIST test
                                               images: OUT/answers.json (input_ids, generated)
  default_vlm_reference.py logits DIR OUT      logits of that prompt about test image 0 and the share
                                               of zeros of every language-model Linear:
                                               OUT/logits.safetensors, OUT/sparsity.json
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
import transformers
from PIL import Image
from safetensors.torch import save_file

QUESTION = "What is the item in this image?"


def test_images(n):
    folder = os.environ.get("PRUNESTUDIO_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    return [Image.fromarray(images[i]).convert("RGB") for i in range(n)]


def load(folder):
    model = transformers.LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    processor = transformers.AutoProcessor.from_pretrained(folder)
    image_token = processor.image_token
    prompt = processor.tokenizer.apply_chat_template([{"role": "user", "content": image_token + "\n" + QUESTION}],
                                                     add_generation_prompt=True, tokenize=False)
    return model, processor, prompt


def answers(folder, out, n):
    model, processor, prompt = load(folder)
    cases = []
    with torch.no_grad():
        for image in test_images(n):
            inputs = processor(images=image, text=prompt, return_tensors="pt")
            gen = model.generate(**inputs, max_new_tokens=8, do_sample=False, eos_token_id=processor.tokenizer.eos_token_id,
                                 pad_token_id=processor.tokenizer.pad_token_id)
            new = gen[0, inputs["input_ids"].shape[1]:]
            cases.append({"input_ids": inputs["input_ids"][0].tolist(), "generated": new.tolist(),
                          "text": processor.tokenizer.decode(new, skip_special_tokens=True)})
    with open(os.path.join(out, "answers.json"), "w", encoding="utf-8") as f:
        json.dump({"prompt": prompt, "cases": cases}, f, ensure_ascii=False, indent=0)


def logits(folder, out):
    model, processor, prompt = load(folder)
    inputs = processor(images=test_images(1)[0], text=prompt, return_tensors="pt")
    with torch.no_grad():
        result = model(**inputs).logits[0]
    save_file({"logits": result.contiguous(), "input_ids": inputs["input_ids"][0].contiguous(),
               "pixel_values": inputs["pixel_values"].contiguous()}, os.path.join(out, "logits.safetensors"))
    sparsity = {name: float((m.weight == 0).float().mean()) for name, m in model.named_modules()
                if isinstance(m, torch.nn.Linear) and ".language_model.layers." in name}
    with open(os.path.join(out, "sparsity.json"), "w") as f:
        json.dump(sparsity, f, indent=0)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    torch.set_num_threads(1)
    mode, folder, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    if mode == "answers":
        answers(folder, out, int(sys.argv[4]))
    elif mode == "logits":
        logits(folder, out)
    else:
        raise SystemExit(f"unknown mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
