"""What limits the generative default's accuracy: how much the frozen language model can answer when
it is told the item in words, and how much of the item the projected image tokens carry.

  default_vlm_limits.py oracle GGUF [N]
      Loads SmolLM2-135M-Instruct from GGUF with transformers (float32) and asks N questions of each
      kind (default 400) in the default's phrasing and chat format, the image replaced by the
      sentence "The image shows a <class>." (setting oracle) or by nothing (blind). Scores, greedy
      as `eval` decodes:
        open    the answer names the true class and no other (the rule the default's first
                figures were measured with; `eval` now scores VQAv2 exact match);
        yes-no  half the questions ask about the true class; balanced accuracy of the first
                token's "Yes" against "No" logit, and the area under the ROC curve of that margin,
                which no answer bias can move (0.5: the margin does not tell true from false);
        choice  four options, the true one at a random letter; accuracy of the arg max of the
                logits of the letters A-D as the first answer token.
      Prints one JSON line per setting.

  default_vlm_limits.py probe DIR
      A linear probe on the image tokens the projector of DIR (build/default-vlm) hands the
      language model: their mean (576 values) for the 60,000 training images, a softmax
      regression (full batch, Adam, 300 steps, features standardised), top-1 on the 10,000 test
      images. Prints one JSON line.
"""
import gzip
import json
import os
import random
import sys

import numpy as np
import torch
import transformers
from PIL import Image
from transformers import AutoModelForCausalLM, AutoTokenizer

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


def article(noun):
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def cap(s):
    return s[:1].upper() + s[1:]


def words(text):
    out, w = [], ""
    for ch in text:
        if ch.isalnum() or ch == "-" or ord(ch) >= 0x80:
            w += ch.lower()
        elif w:
            out.append(w)
            w = ""
    return out + ([w] if w else [])


def names_only(answer, label):
    ws = words(answer)
    def has(phrase):
        p = words(phrase)
        return any(ws[i:i + len(p)] == p for i in range(len(ws) - len(p) + 1))
    return all(has(c) == (i == label) for i, c in enumerate(CLASSES))


def auc(pos, neg):
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def oracle(path, n):
    folder, name = path.rsplit("/", 1)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    first = lambda s: tok.encode(s, add_special_tokens=False)[0]
    yes_id, no_id = first("Yes"), first("No")
    letters = [first(c) for c in "ABCD"]

    def prompt(setting, label, question):
        shown = f"The image shows {article(CLASSES[label])}.\n" if setting == "oracle" else ""
        return tok.apply_chat_template([{"role": "user", "content": shown + question}], add_generation_prompt=True,
                                       return_tensors="pt")

    for setting in ("oracle", "blind"):
        rng = random.Random(0)
        right_open = 0
        margins = {True: [], False: []}
        right_choice = 0
        with torch.no_grad():
            for i in range(n):
                label = rng.randrange(10)
                ids = prompt(setting, label, "What is the item in this image?")
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False)
                right_open += names_only(tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True), label)

                yes = i % 2 == 0
                asked = label if yes else (label + rng.randrange(1, 10)) % 10
                logits = model(prompt(setting, label, f"Is there {article(CLASSES[asked])} in the image?")).logits[0, -1]
                margins[yes].append((logits[yes_id] - logits[no_id]).item())

                others = [c for c in range(10) if c != label]
                rng.shuffle(others)
                options = others[:3]
                at = rng.randrange(4)
                options.insert(at, label)
                q = "Which item is in the image?" + "".join(f"\n{'ABCD'[k]}. {cap(CLASSES[c])}" for k, c in enumerate(options))
                q += "\nAnswer with the option's letter from the given choices directly."
                logits = model(prompt(setting, label, q)).logits[0, -1]
                right_choice += int(torch.argmax(logits[letters])) == at
        pos, neg = margins[True], margins[False]
        balanced = 0.5 * (sum(m > 0 for m in pos) / len(pos) + sum(m <= 0 for m in neg) / len(neg))
        print(json.dumps({"setting": setting, "questions": n, "open_accuracy": 100 * right_open / n,
                          "yes_no_balanced_accuracy": 100 * balanced, "yes_no_auc": auc(pos, neg),
                          "choice_accuracy": 100 * right_choice / n}))


def fashion_mnist(split):
    folder = os.environ.get("PRUNESTUDIO_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
    prefix = {"train": "train", "test": "t10k"}[split]
    with gzip.open(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, torch.tensor(labels.astype(np.int64))


def probe(folder):
    model = transformers.LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    processor = transformers.AutoProcessor.from_pretrained(folder)

    def features(images):
        out = []
        with torch.no_grad():
            for b in range(0, len(images), 500):
                batch = [Image.fromarray(x).convert("RGB") for x in images[b:b + 500]]
                pixels = processor.image_processor(batch, return_tensors="pt")["pixel_values"]
                tokens = model.model.get_image_features(pixels, vision_feature_layer=-1,
                                                        vision_feature_select_strategy="default")
                tokens = torch.stack(list(tokens)) if isinstance(tokens, (list, tuple)) else tokens
                out.append(tokens.mean(1))  # [B, 576]: what the language model is handed, averaged
        return torch.cat(out)

    train_images, train_labels = fashion_mnist("train")
    test_images, test_labels = fashion_mnist("test")
    x, x_test = features(train_images), features(test_images)
    mean, std = x.mean(0), x.std(0) + 1e-6
    x, x_test = (x - mean) / std, (x_test - mean) / std
    torch.manual_seed(0)
    head = torch.nn.Linear(x.shape[1], 10)
    opt = torch.optim.Adam(head.parameters(), lr=0.01)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(x), train_labels).backward()
        opt.step()
    with torch.no_grad():
        top1 = (head(x_test).argmax(1) == test_labels).float().mean().item()
    print(json.dumps({"probe": "projected image tokens, mean", "train": len(x), "test": len(x_test), "top1": 100 * top1}))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("oracle", "probe"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "oracle":
        oracle(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 400)
    else:
        probe(sys.argv[2])
