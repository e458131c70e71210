#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora beside this script (safetensors/, gguf/, config/, tokenizer/, image/, image_config/, run_score/,
vqa_file/, llava_conversations/, inputs_file/, token_options/):
a few small valid inputs of each kind for libFuzzer to mutate. Needs Pillow (the project .venv
has it) for the JPEG seed. Re-run after changing a seed: .venv/bin/python make_seeds.py"""
import base64
import io
import json
import os
import shutil
import struct
import zlib

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def gguf_string(s):
    return struct.pack("<Q", len(s.encode())) + s.encode()


def main():
    for sub in ("safetensors", "gguf", "config", "tokenizer", "image", "image_config", "run_score", "vqa_file", "llava_conversations",
                "inputs_file", "token_options"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    # GGUF: metadata of several value types and one tensor of each supported type.
    kv = gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama")
    kv += gguf_string("list") + struct.pack("<IIQ", 9, 5, 2) + struct.pack("<ii", -1, 7)
    infos, blob = b"", b""
    for name, gtype, nbytes in (("f32", 0, 128), ("f16", 1, 64), ("bf16", 30, 64), ("q8", 8, 34), ("q40", 2, 18), ("q41", 3, 20)):
        infos += gguf_string(name) + struct.pack("<IQIQ", 1, 32, gtype, len(blob))
        blob += bytes(range(nbytes)) + bytes(-nbytes % 32)
    head = b"GGUF" + struct.pack("<IQQ", 3, 6, 2) + kv + infos
    write("gguf/six_types.gguf", head + bytes(-len(head) % 32) + blob)
    # Found by fuzz_gguf: a tensor of no elements passed a null buffer to memcpy (UBSan).
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + gguf_string("empty") + struct.pack("<IQIQ", 1, 0, 0, 0)
    write("gguf/zero_elements.gguf", head + bytes(-len(head) % 32))
    write("safetensors/two_f32.safetensors", safetensors({"a.weight": ("F32", [2, 2], bytes(16)), "a.bias": ("F32", [2], bytes(8))}))
    write("safetensors/bf16_metadata.safetensors", safetensors({"w": ("BF16", [3, 1], bytes(6))}, {"format": "pt"}))
    write("safetensors/scalar_and_empty.safetensors", safetensors({"s": ("I64", [], bytes(8)), "e": ("U8", [0, 4], b"")}))
    write("safetensors/empty_header.safetensors", safetensors({}))
    # Calibration inputs: LLaVA-style rows with a mask, labels and images; Qwen-style patches with their grid;
    # LLaVA-NeXT's views with image sizes; InternVL's tiles with their grids.
    ids = struct.pack("<12q", 1, 5, 9, 9, 7, 2, 1, 6, 9, 9, 8, 2)
    write("inputs_file/images.safetensors", safetensors({
        "input_ids": ("I64", [2, 6], ids), "attention_mask": ("I32", [2, 6], struct.pack("<12i", *[1] * 11, 0)),
        "labels": ("I64", [2, 6], struct.pack("<12q", *[-100] * 4, 7, 2, *[-100] * 4, 8, 2)),
        "pixel_values": ("F16", [2, 3, 2, 2], bytes(48))}))
    write("inputs_file/patch_grid.safetensors", safetensors({
        "input_ids": ("U8", [2, 3], bytes([1, 9, 2, 1, 9, 2])), "pixel_values": ("F32", [12, 2], bytes(96)),
        "image_grid_thw": ("I64", [2, 3], struct.pack("<6q", 1, 2, 2, 1, 2, 4))}))
    write("inputs_file/tiled_views.safetensors", safetensors({
        "image_sizes": ("I64", [2, 2], struct.pack("<4q", 37, 101, 20, 26)), "input_ids": ("I64", [2, 4], struct.pack("<8q", *[1] * 8)),
        "pixel_values": ("F32", [2, 2, 3, 2, 2], bytes(192))}))
    write("inputs_file/cropped_tiles.safetensors", safetensors({
        "input_ids": ("I64", [2, 2], struct.pack("<4q", 1, 9, 1, 9)), "pixel_values": ("F32", [5, 3, 2, 2], bytes(240)),
        "image_tiles": ("I64", [2, 2], struct.pack("<4q", 1, 3, 1, 1))}))

    options = {"images": 1000, "kl_samples": 16}
    write("run_score/zero_shot.json", json.dumps({"options": options, "metric": "zero_shot_top1", "run": 85.2, "dense": 86.3,
                                              "samples": 1000, "seconds": 2.5}))
    # found by fuzz_run_score: a sample count of 1e110 was cast to int64 (undefined; now refused)
    write("run_score/samples_huge_float.json", '{"optio": {"image": 1000, "kl_samplus": 16}, "metric": "zero_shot_top1", '
          '"run": 85.2, "dense": 886.3, "samples": 1' + "0" * 109 + '.3, "sa": 2.8}')
    write("run_score/next_token_kl.json", json.dumps({"options": options, "metric": "next_token_kl", "run": 0.0123,
                                                  "samples": 16, "seconds": 0.4}))

    # A Plan's tokens section: registered methods with their options, and blocks given by hand.
    write("token_options/dart.json", json.dumps({"method": "dart", "keep": 0.25, "pivots": 8}))
    write("token_options/pyramiddrop.json", json.dumps({"method": "pyramiddrop", "keep": 0.11, "stages": 4}))
    write("token_options/visionzip.json", json.dumps({"method": "visionzip", "keep": 0.5, "contextual": 0.15625}))
    write("token_options/hand.json", json.dumps({"metric": "cls", "vision": {"0": 0.5}, "language_after": 1, "language_keep": 0.5}))

    # Question files: LLaVA's layout (a POPE label, lettered options in the text) and vqa.jsonl's.
    write("vqa_file/llava.jsonl", "".join(json.dumps(line) + "\n" for line in (
        {"question_id": 1, "image": "a.png", "text": "Is there a dog in the image?", "label": "yes", "category": "random"},
        {"question_id": "2", "image": "a.png", "text": "Which?\nA. Ice\nB. Fire", "answers": "B"})))
    write("vqa_file/ours.jsonl", "".join(json.dumps(line) + "\n" for line in (
        {"image": "a.png", "question": "Which item?", "options": ["Bag", "Coat"], "answers": ["A"], "kind": "choice", "category": "x"},
        {"id": 3, "image": "a.png", "question": "What?", "answers": [{"answer": "red"}, {"answer": "blue"}]})))

    # LLaVA conversations: an image record of two turns and a text-only one.
    write("llava_conversations/mix.json", json.dumps([
        {"id": "1", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A bag."},
                                                        {"from": "human", "value": "Colour?"}, {"from": "gpt", "value": "Red."}]},
        {"id": 2, "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]}]))

    write("config/dual_encoder.json", json.dumps({"model_type": "vision-text-dual-encoder", "projection_dim": 128,
                                                 "vision_config": {"model_type": "vit", "hidden_size": 128, "image_size": 28, "patch_size": 7},
                                                 "text_config": {"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6}}))
    write("config/llava.json", json.dumps({"model_type": "llava", "projector_hidden_act": "gelu",
                                          "text_config": {"model_type": "llama", "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0},
                                          "vision_config": {"model_type": "clip_vision_model", "layer_norm_eps": 1e-5}}))
    write("config/llava_onevision.json", json.dumps({"model_type": "llava_onevision", "vision_aspect_ratio": "anyres_max_9",
                                                    "image_grid_pinpoints": [[384, 768], [768, 384]],
                                                    "text_config": {"model_type": "qwen2", "use_sliding_window": False},
                                                    "vision_config": {"model_type": "siglip_vision_model", "vision_use_head": False}}))
    # preprocessor_config.json of each kind of image processor: resize and crop, native resolution, anyres, tiles.
    write("image_config/clip.json", json.dumps({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224},
                                                "crop_size": {"height": 224, "width": 224}, "resample": 3}))
    write("image_config/qwen2_vl.json", json.dumps({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136,
                                                    "max_pixels": 12845056, "patch_size": 14, "merge_size": 2}))
    write("image_config/llava_next.json", json.dumps({"image_processor_type": "LlavaNextImageProcessor",
                                                      "image_grid_pinpoints": [[336, 672], [672, 336]]}))
    write("image_config/got_ocr2.json", json.dumps({"image_processor_type": "GotOcr2ImageProcessor", "min_patches": 1, "max_patches": 12}))
    write("image_config/smolvlm.json", json.dumps({"image_processor_type": "Idefics3ImageProcessor", "size": {"longest_edge": 2048},
                                                   "max_image_size": {"longest_edge": 512}, "do_image_splitting": True, "resample": 1}))
    write("config/clip.json", json.dumps({"model_type": "clip", "tie_word_embeddings": False, "text_config": {"vocab_size": 99}}))
    # The tiny Qwen2.5-VL and Qwen3-VL configs transformers writes for the family tests.
    write("config/qwen2_5_vl.json", json.dumps({
        "dtype": "float32", "image_token_id": 5, "model_type": "qwen2_5_vl", "transformers_version": "4.57.1", "video_token_id": 1361,
        "vision_end_token_id": 4, "vision_start_token_id": 3,
        "text_config": {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "attention_dropout": 0.0, "hidden_act": "silu",
                        "hidden_size": 48, "initializer_range": 0.02, "intermediate_size": 37,
                        "layer_types": ["full_attention", "full_attention"], "max_position_embeddings": 32768, "max_window_layers": 80,
                        "model_type": "qwen2_5_vl_text", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
                        "rms_norm_eps": 1e-05, "rope_scaling": {"mrope_section": [2, 2, 2], "rope_type": "default", "type": "default"},
                        "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": True, "use_cache": True,
                        "use_sliding_window": False, "vocab_size": 1362},
        "vision_config": {"depth": 3, "fullatt_block_indexes": [1], "hidden_act": "silu", "hidden_size": 40, "in_channels": 3,
                          "initializer_range": 0.02, "intermediate_size": 37, "model_type": "qwen2_5_vl", "num_heads": 2,
                          "out_hidden_size": 48, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                          "tokens_per_second": 4, "window_size": 56}}, indent=1, sort_keys=True))
    write("config/qwen3_vl.json", json.dumps({
        "architectures": ["Qwen3VLForConditionalGeneration"], "dtype": "float32", "image_token_id": 5, "model_type": "qwen3_vl",
        "tie_word_embeddings": False, "transformers_version": "4.57.1", "video_token_id": 1361, "vision_end_token_id": 4,
        "vision_start_token_id": 3,
        "text_config": {"attention_bias": False, "attention_dropout": 0.0, "head_dim": 16, "hidden_act": "silu", "hidden_size": 48,
                        "initializer_range": 0.02, "intermediate_size": 37, "max_position_embeddings": 128000,
                        "model_type": "qwen3_vl_text", "num_attention_heads": 4, "num_hidden_layers": 3, "num_key_value_heads": 2,
                        "rms_norm_eps": 1e-06, "rope_scaling": {"mrope_interleaved": True, "mrope_section": [3, 3, 2], "rope_type": "default"},
                        "rope_theta": 5000000.0, "use_cache": True, "vocab_size": 1362},
        "vision_config": {"deepstack_visual_indexes": [0, 2], "depth": 3, "hidden_act": "gelu_pytorch_tanh", "hidden_size": 40,
                          "in_channels": 3, "initializer_range": 0.02, "intermediate_size": 37, "model_type": "qwen3_vl", "num_heads": 2,
                          "num_position_embeddings": 25, "out_hidden_size": 48, "patch_size": 16, "spatial_merge_size": 2,
                          "temporal_patch_size": 2}}, indent=1, sort_keys=True))

    write("tokenizer/text_ascii", "\x00a photo of a t-shirt, [SEP] trouser")
    write("tokenizer/text_unicode", "\x00Ünïcödé café 中文字 \t\u200b emoji \U0001F600")
    write("tokenizer/tokenizer_json", "\x01" + json.dumps({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1, "##b": 2}},
                                                           "normalizer": {"type": "BertNormalizer", "lowercase": True}, "added_tokens": []}))
    write("tokenizer/tokenizer_config", "\x02" + json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                                                             "added_tokens_decoder": {"0": {"content": "[PAD]", "special": True}}}))
    write("tokenizer/tokenizer_json_byte_level", "\x01" + json.dumps({
        "model": {"type": "BPE", "vocab": {"a": 0, "Ġ": 1, "p": 2, "h": 3, "o": 4, "t": 5, "ph": 6, "Ġa": 7},
                  "merges": ["p h", "Ġ a"], "byte_fallback": False},
        "added_tokens": [{"id": 8, "content": "<|im_end|>", "special": True}],
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                               {"type": "ByteLevel", "add_prefix_space": False}]},
        "decoder": {"type": "ByteLevel"}}))
    write("tokenizer/vocab_txt", "\x03[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nphoto\n##s\n")
    # Found by fuzz_tokenizer: a vocab id of 2.7e42 in tokenizer.json overflowed int64 (UBSan).
    write("tokenizer/tokenizer_json_float_id", base64.b64decode(
        "AXsibW9kZWwiOiB7InR5cGUiOiAiV29yZFBpZWNlIiwgInVua190b2tlbiI6ICJbVU5LXSIsICJ2b2NhYiI6IHsiJlVOS10iOiAwLCAiYSI6IDEsICIjI2IiOiAy"
        "NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2fX0sICIiOiAiV29yZFBpZWNlIiwgInVua2Vka2VucyI6IFtdfQ=="))
    # Found by fuzz_tokenizer: repeated vocab.txt lines gave ids past vocab_size().
    write("tokenizer/vocab_txt_duplicate_lines", base64.b64decode(
        "A1tdCltVTktdCltDTFNdCltTRVBBU8tdXQpbTUFzS10KYf9waG90UEFEXQpbVU5LXQpbQ0xTXQpbU0VQQVPLXV0KW01Bc0tdCmH/cGhvdP9zIyNzCg=="))

    img = Image.new("RGB", (28, 28))
    for x in range(28):
        for y in range(28):
            img.putpixel((x, y), (9 * x, 9 * y, 128))
    for fmt, name in (("PNG", "rgb.png"), ("JPEG", "rgb.jpg"), ("BMP", "rgb.bmp")):
        buf = io.BytesIO()
        img.save(buf, fmt)
        write("image/" + name, buf.getvalue())
    buf = io.BytesIO()
    img.convert("L").save(buf, "PNG")
    write("image/grey.png", buf.getvalue())
    # Found by fuzz_image: a 100-byte BMP declaring 131329 x 7168 pixels made OpenCV allocate 2.8 GB.
    write("image/bmp_huge_header", base64.b64decode(
        "Qk1mCQAAAAAAAAA2AAAoAAAAAQECAAAcAAAAABAAAAAAAAAAAAAAAACYAAAAAAAAAAD//////////////////////////////////////////////////////w=="))


if __name__ == "__main__":
    main()
