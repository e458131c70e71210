"""The VQAv2 evaluation server's answer normalisation (vqaEval.py of the VQA Challenge, run by
EvalAI) written out in Python's re, as the reference for core/eval/vqa_accuracy.cpp.

  vqa_reference.py IN.json OUT.json
      IN: a JSON list of answer strings; OUT: the list of their normalised forms.
"""
import json
import re
import sys

P = r"\\;/\"`\[\](){}<>@=+_\-,?!"  # the punctuation marks; the period is handled apart
LEADING = re.compile(r"\A([ " + P + r"]+)(?=[a-zA-Z0-9 ])")
TRAILING = re.compile(r"(?<=[a-zA-Z0-9 ])([ " + P + r"]+)\Z")
DIGIT_COMMAS = re.compile(r"(?<=\d)(\,)+(?=\d)")
NEXT_TO_PUNCT = re.compile(r"(?<=[ " + P + r"])([" + P + r"])|([" + P + r"])(?=[ " + P + r"])")
BETWEEN_LETTERS = re.compile(r"(?<=[a-zA-Z])([" + P + r"])(?=[a-zA-Z])")
SPACES = re.compile(r"([ ]+)")
PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
NUMBERS = {w: str(i) for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                            "nine", "ten"])}
NUMBERS["none"] = "0"
ARTICLES = {"a", "an", "the"}
# A sample of the server's table is enough here: the C++ table is checked entry by entry in the
# hand-written cases; what this reference pins down is the regular expressions' behaviour.
CONTRACTIONS = {"isnt": "isn't", "dont": "don't", "wont": "won't", "Im": "I'm", "youre": "you're", "thats": "that's"}


def punctuation(text):
    out = LEADING.sub("", text)
    out = TRAILING.sub("", out)
    out = DIGIT_COMMAS.sub("", out)
    out = NEXT_TO_PUNCT.sub(" ", out)
    out = SPACES.sub(" ", out)
    out = BETWEEN_LETTERS.sub(" ", out)
    out = BETWEEN_LETTERS.sub("", out)
    return PERIOD.sub("", out, re.UNICODE)  # the server's call: re.UNICODE (32) is the count


def digit_article(text):
    words = [NUMBERS.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES]
    return " ".join(words)


def normalize(answer):
    return digit_article(punctuation(answer.replace("\n", " ").replace("\t", " ").strip()))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        answers = json.load(f)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump([normalize(a) for a in answers], f, ensure_ascii=False)


if __name__ == "__main__":
    main()
