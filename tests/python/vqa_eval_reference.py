"""Reference for core/eval/vqa_eval.cpp: transformers' LlavaForConditionalGeneration answering a
user's question files one question at a time (no batching, no padding).

  vqa_eval_reference.py OUT

writes OUT/dense (the tiny LLaVA-1.5 of run_reference.py), OUT/pruned (the same with the smaller
half of every language-model Linear's weights zeroed), OUT/images/*.png, OUT/open.jsonl (LLaVA's
question layout, answers in OUT/open_annotations.jsonl), OUT/same.jsonl (one question about each
image) and OUT/choice.jsonl (vqa.jsonl with options), and prints for each file and question what the pruned model gives: the prompt, the greedy
answer, the reference answer's log-likelihood, each option's, and KL(dense || pruned) summed over
the reference's tokens.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

from run_reference import make_llava

OPEN_SUFFIX = "Answer the question using a single word or phrase."
CHOICE_SUFFIX = "Answer with the option's letter from the given choices directly."


def write_images(folder, n):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(11)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (24 + 7 * i, 40 - 5 * i, 3), dtype=np.uint8)).save(os.path.join(folder, f"{i}.png"))


def continuation_logprobs(model, inputs, cont):
    ids = torch.cat([inputs["input_ids"], torch.tensor([cont])], 1)
    with torch.no_grad():
        logits = model(input_ids=ids, pixel_values=inputs["pixel_values"]).logits[0].double()
    n = len(cont)
    return logits[ids.shape[1] - n - 1:ids.shape[1] - 1].log_softmax(-1)


def main(out):
    dense, tok, processor = make_llava(os.path.join(out, "dense"))
    pruned = type(dense)(dense.config).eval()
    pruned.load_state_dict(dense.state_dict())
    with torch.no_grad():
        for name, module in pruned.named_modules():
            if isinstance(module, torch.nn.Linear) and "language_model" in name and "lm_head" not in name:
                w = module.weight
                k = w.numel() // 2
                w[w.abs() <= w.abs().flatten().kthvalue(k).values] = 0
    pruned.save_pretrained(os.path.join(out, "pruned"))
    for f in os.listdir(os.path.join(out, "dense")):
        if f.startswith(("tokenizer", "special_tokens", "preprocessor")) or f.endswith(".model"):
            with open(os.path.join(out, "dense", f), "rb") as src, open(os.path.join(out, "pruned", f), "wb") as dst:
                dst.write(src.read())
    write_images(os.path.join(out, "images"), 3)

    open_questions = [("q1", "0.png", "What is in the picture?", ["cat"]),
                      (7, "1.png", "What colour is it?\n" + OPEN_SUFFIX, ["blue", "red"]),
                      ("q3", "2.png", "How many?", ["two"]),
                      (9, "0.png", "Where is it?", ["on the table"])]
    with open(os.path.join(out, "open.jsonl"), "w") as q, open(os.path.join(out, "open_annotations.jsonl"), "w") as a:
        for qid, image, text, answers in open_questions:
            q.write(json.dumps({"question_id": qid, "image": image, "text": text, "category": "misc"}) + "\n")
            a.write(json.dumps({"question_id": qid, "answers": [{"answer": x} for x in answers]}) + "\n")
    choice_questions = [("1.png", "Which colour?", ["Red", "Green", "Blue"], "C"),
                        ("2.png", "Which animal?", ["A cat", "A dog"], "A"),
                        ("0.png", "Which shape?", ["Round", "Square", "Long", "Flat"], "B")]
    with open(os.path.join(out, "choice.jsonl"), "w") as q:
        for image, text, options, letter in choice_questions:
            q.write(json.dumps({"image": image, "question": text, "options": options, "answers": letter, "kind": "choice"}) + "\n")

    # The same question about each image: the prompts differ only in their image tokens, so a batch
    # of them has no padding and shares the text before the image.
    same_questions = [(f"s{i}", f"{i}.png", "Describe the picture.", ["thing"]) for i in range(3)]
    with open(os.path.join(out, "same.jsonl"), "w") as q:
        for qid, image, text, answers in same_questions:
            q.write(json.dumps({"question_id": qid, "image": image, "text": text, "answers": answers}) + "\n")

    result = {}
    for kind, items in (("open", [(text, image, answers[0][0].upper() + answers[0][1:], []) for _, image, text, answers in open_questions]),
                        ("same", [(text, image, answers[0][0].upper() + answers[0][1:], []) for _, image, text, answers in same_questions]),
                        ("choice", [(text + "".join(f"\n{chr(65 + k)}. {o}" for k, o in enumerate(options)), image, letter, options)
                                    for image, text, options, letter in choice_questions])):
        suffix = CHOICE_SUFFIX if kind == "choice" else OPEN_SUFFIX
        rows = []
        for text, image, reference, options in items:
            prompt = text if text.endswith(suffix) else text + "\n" + suffix
            picture = Image.open(os.path.join(out, "images", image)).convert("RGB")
            inputs = processor(text=f"USER: <image>\n{prompt} ASSISTANT:", images=picture, return_tensors="pt")
            with torch.no_grad():
                ids = pruned.generate(**inputs, do_sample=False, max_new_tokens=8 if kind == "choice" else 16,
                                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)[0, inputs["input_ids"].shape[1]:]
            cont = tok(reference, add_special_tokens=False).input_ids
            q = continuation_logprobs(pruned, inputs, cont)
            p = continuation_logprobs(dense, inputs, cont)
            gather = lambda lp, c: float(lp.gather(1, torch.tensor(c).unsqueeze(1)).sum())
            rows.append({"prompt": prompt, "answer": tok.decode(ids, skip_special_tokens=True).strip(),
                         "reference_logprob": gather(q, cont), "kl": float((p.exp() * (p - q)).sum()),
                         "option_logprobs": [gather(continuation_logprobs(pruned, inputs, tok(o, add_special_tokens=False).input_ids),
                                                    tok(o, add_special_tokens=False).input_ids) for o in options]})
        result[kind] = rows
    print(json.dumps(result))


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    main(sys.argv[1])
