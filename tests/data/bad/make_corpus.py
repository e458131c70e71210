#!/usr/bin/env python3
"""Writes the bad-input corpus beside this script: one folder or file per case under
checkpoint/, plan/, tokenizer/, image/, idx/, captions/ and score/. The cases and the one-line error each
must give are listed in cases.json (kept by hand); `test_bad_inputs` runs them all through the
CLI and the core API. Re-run after changing a case: python3 make_corpus.py"""
import gzip
import json
import os
import random
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CLIP = json.dumps({"model_type": "clip"})
GOOD = {"vision_model.encoder.layers.0.mlp.fc1.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def safetensors(header, data_bytes, declared=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h) if declared is None else declared) + h + bytes(data_bytes)


def checkpoint(name, weights, config=CLIP, weights_name="model.safetensors"):
    if config is not None:
        write(f"checkpoint/{name}/config.json", config)
    if weights is not None:
        write(f"checkpoint/{name}/{weights_name}", weights)


def gguf_string(s):
    return struct.pack("<Q", len(s.encode())) + s.encode()


def gguf_one_tensor(ggml_type=0, data_bytes=128):
    """A llama GGUF file of one F32 tensor of 32 elements (128 bytes) at the data section's start."""
    kv = gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama")
    info = gguf_string("token_embd.weight") + struct.pack("<IQIQ", 1, 32, ggml_type, 0)
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + kv + info
    return head + bytes(-len(head) % 32) + bytes(data_bytes)


def idx(magic_type, dims, payload):
    return struct.pack(">HBB", 0, magic_type, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


def png(width, height):
    raw = b"".join(b"\0" + bytes(width) for _ in range(height))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    for sub in ("checkpoint", "plan", "tokenizer", "image", "idx", "captions"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)

    # Checkpoints: safetensors files and their folder
    good = safetensors(GOOD, 16)
    checkpoint("truncated_safetensors", good[:20])
    checkpoint("header_longer_than_file", safetensors(GOOD, 16, declared=1 << 20))
    checkpoint("header_not_json", safetensors(b'{"a":', 0))
    checkpoint("header_not_object", safetensors(b"[1, 2, 3]", 0))
    checkpoint("offsets_overlap", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                               "b": {"dtype": "F32", "shape": [4], "data_offsets": [4, 20]}}, 20))
    checkpoint("offsets_outside_buffer", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, 8))
    checkpoint("shape_dtype_mismatch", safetensors({"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 16]}}, 16))
    checkpoint("unknown_dtype", safetensors({"a": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}}, 16))
    checkpoint("duplicate_tensor_names", safetensors(
        b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2))
    checkpoint("negative_shape", safetensors({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, 16))
    checkpoint("empty_safetensors", b"")
    write("checkpoint/truncated.gguf", gguf_one_tensor(data_bytes=100))
    write("checkpoint/unknown_tensor_type.gguf", gguf_one_tensor(ggml_type=99))
    checkpoint("pickle_only", b"\x80\x02}q\x00.", weights_name="pytorch_model.bin")
    checkpoint("pickle_pt", b"PK\x03\x04", weights_name="model.pt")
    checkpoint("no_weights", None)
    write("checkpoint/missing_shard/config.json", json.dumps({"model_type": "llava"}))
    write("checkpoint/missing_shard/model.safetensors.index.json",
          json.dumps({"weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors"}}))
    write("checkpoint/index_not_json/config.json", json.dumps({"model_type": "llava"}))
    write("checkpoint/index_not_json/model.safetensors.index.json", '{"weight_map": ')
    # Configs
    checkpoint("config_missing", good, config=None)
    checkpoint("config_not_json", good, config="{model_type")
    checkpoint("config_not_object", good, config="[]")
    checkpoint("config_unknown_model_type", good, config=json.dumps({"model_type": "mystery"}))
    checkpoint("config_no_model_type", good, config=json.dumps({"hidden_size": 64}))

    # Plans (the model comes from the CLI's --model or the test)
    def plan(name, body):
        write(f"plan/{name}.json", body if isinstance(body, str) else json.dumps(body, indent=1))
    plan("sparsity_one", {"method": "wanda", "sparsity": 1.0})
    plan("sparsity_negative", {"method": "magnitude", "sparsity": -0.1})
    plan("n_not_below_m", {"method": "wanda", "pattern": "4:4", "sparsity": 0.5})
    plan("m_does_not_divide_rows", {"method": "magnitude", "pattern": "2:5", "sparsity": 0.4})
    plan("pattern_garbage", {"method": "wanda", "pattern": "two-four", "sparsity": 0.5})
    plan("unknown_method", {"method": "prune-it-all", "sparsity": 0.5})
    plan("regex_matches_nothing", {"method": "magnitude", "sparsity": 0.5, "targets": ["decoder\\.layers\\..*"]})
    plan("regex_invalid", {"method": "magnitude", "sparsity": 0.5, "ignore": ["(unclosed"]})
    plan("unknown_field", {"method": "wanda", "sparsity": 0.5, "post_command": "rm -rf /"})
    plan("not_json", '{"method": "wanda", ')
    plan("missing_model", {"model": "/nonexistent/prunestudio-model", "method": "magnitude", "sparsity": 0.5})
    plan("sparsity_not_number", {"method": "wanda", "sparsity": "half"})
    plan("calibration_unknown_data", {"method": "wanda", "sparsity": 0.5, "calibration": {"data": "imagenet"}})

    # Tokenizers: files laid over a copy of the default model
    write("tokenizer/tokenizer_json_not_json/tokenizer.json", '{"model": {"type": ')
    write("tokenizer/tokenizer_config_not_json/tokenizer_config.json", "{tokenizer_class")
    write("tokenizer/unknown_tokenizer_class/tokenizer_config.json", json.dumps({"tokenizer_class": "FancyTokenizer"}))
    write("tokenizer/merge_names_missing_token/tokenizer.json", json.dumps(
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a c"]},
         "pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"}}))
    write("tokenizer/missing/.keep", "")  # the test removes every tokenizer file
    write("tokenizer/id_outside_vocabulary/tokenizer.json", json.dumps(
        {"model": {"type": "WordPiece", "unk_token": "[UNK]",
                   "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 1000000000000}}}))

    # Images
    write("image/text_as_png.png", "this is text, not a PNG")
    write("image/empty.png", b"")
    write("image/truncated.png", png(28, 28)[:60])
    write("image/huge_header.bmp", b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) +  # 131329 x 7168, no pixels
          struct.pack("<IiiHHIIiiII", 40, 131329, 7168, 1, 24, 0, 0, 2835, 2835, 0, 0))
    # image/missing.png is named in cases.json and never written

    # Fashion-MNIST IDX folders (test split)
    labels = idx(0x08, [2], bytes([1, 2]))
    images = idx(0x08, [2, 28, 28], random.Random(0).randbytes(2 * 28 * 28))  # random: gzip cannot shrink it
    def idx_case(name, img, lab):
        if img is not None:
            write(f"idx/{name}/t10k-images-idx3-ubyte.gz", gzip.compress(img, mtime=0))
        if lab is not None:
            write(f"idx/{name}/t10k-labels-idx1-ubyte.gz", gzip.compress(lab, mtime=0))
    idx_case("bad_magic", b"\x12\x34" + images[2:], labels)
    idx_case("short_images", images[:-100], labels)
    idx_case("label_count_mismatch", images, idx(0x08, [3], bytes([1, 2, 3])))
    idx_case("label_out_of_range", images, idx(0x08, [2], bytes([1, 12])))
    idx_case("labels_missing", images, None)
    write("idx/truncated_gzip/t10k-images-idx3-ubyte.gz", gzip.compress(images, mtime=0)[:200])
    write("idx/truncated_gzip/t10k-labels-idx1-ubyte.gz", gzip.compress(labels, mtime=0))

    # Run scores (score.json of a run folder, as `score` reads it back with its default options)
    def score(name, body):
        write(f"score/{name}/result.json", "{}")
        write(f"score/{name}/score.json", body if isinstance(body, str) else json.dumps(body, indent=1))
    options = {"images": 1000, "kl_samples": 16}
    score("not_json", '{"options": {"images": 1000, ')
    score("run_not_number", {"options": options, "metric": "zero_shot_top1", "run": "high", "samples": 1000})
    score("unknown_metric", {"options": options, "metric": "bleu", "run": 1.0, "samples": 10})

    # Caption folders
    write("captions/image_missing/captions.jsonl", '{"image": "missing.png", "caption": "a bag"}\n')
    write("captions/line_not_json/captions.jsonl", '{"image": "a.png", "caption": "a bag"}\nnot json\n')
    write("captions/line_not_json/a.png", png(28, 28))
    write("captions/caption_missing/captions.jsonl", '{"image": "a.png"}\n')
    write("captions/caption_missing/a.png", png(28, 28))
    write("captions/path_escapes/captions.jsonl", '{"image": "../a.png", "caption": "a bag"}\n')
    write("captions/no_captions_file/.keep", "")
    write("captions/empty/captions.jsonl", "\n\n")


if __name__ == "__main__":
    main()
