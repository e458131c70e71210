"""Python side of bench/bench_forward: builds the benchmark's checkpoints and inputs with
transformers, and times transformers' own forward of a model, so bench_forward can compare our C++
forward against the reference implementation on the same torch.

  bench_forward_reference.py prepare DIR [llava|qwen2_5_vl]
      Writes DIR (atomically: a sibling temp folder renamed into place) unless it exists: a random
      model saved with save_pretrained (float32, one model.safetensors) and
      DIR/bench_forward_inputs.safetensors. llava (the default): LlavaForConditionalGeneration with
      pixel_values [B,3,224,224], input_ids [B,T] (each image's 256 tokens already expanded, as
      LlavaProcessor writes them) and attention_mask [B,T] (all ones: no padding). qwen2_5_vl:
      Qwen2_5_VLForConditionalGeneration with one 448 x 448 image per row as Qwen2VLImageProcessor
      flattens it (pixel_values [B*1024, 1176], image_grid_thw [B,3]: 256 merged tokens each between
      <|vision_start|> and <|vision_end|>). Checkpoint::open reads model.safetensors only, so the
      inputs file beside it is not taken for a shard.

  bench_forward_reference.py run DIR THREADS REPEATS LOGITS_OUT [DEVICE DTYPE]
      Loads DIR with from_pretrained (transformers' default attention implementation) onto DEVICE
      in DTYPE (cpu, float32 when not given; on CUDA each timing waits for the device), runs one
      untimed forward, then REPEATS timed ones under torch.inference_mode() with model.eval(), and
      writes the last forward's logits to LOGITS_OUT (safetensors, "logits"). Only the forward call
      is timed: not interpreter start-up, `import torch`, loading, nor writing the logits. Prints
      one JSON line: {"seconds": [...], "load_seconds": ..., "attn_implementation": ..., ...}.
"""
import json
import os
import shutil
import sys
import time

import torch
from safetensors.torch import load_file, save_file

INPUTS = "bench_forward_inputs.safetensors"
BATCH = 2
TEXT_TOKENS = 256  # text tokens per sequence besides the image's tokens
IMAGE_TOKEN = 7999  # last id of the 8000-token vocabulary, as LLaVA-1.5 puts <image> after the text vocabulary
VISION_START, VISION_END = 7996, 7997  # Qwen2.5-VL's markers around an image's tokens


def build_model():
    """LLaVA-1.5's layout at CPU size: CLIP ViT (12 x 384, 224 px, patch 14 -> 256 patches + CLS)
    feeding layer -2 through the 2-layer GELU projector into a 12-layer LLaMA (768 wide, 2048 MLP,
    12 heads over 4 key/value heads, 8000-token vocabulary)."""
    import transformers as tf

    vision = tf.CLIPVisionConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                                 image_size=224, patch_size=14)
    text = tf.LlamaConfig(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                          num_key_value_heads=4, vocab_size=8000, max_position_embeddings=2048, rms_norm_eps=1e-5,
                          tie_word_embeddings=False)
    cfg = tf.LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN, image_seq_length=256,
                         vision_feature_layer=-2, vision_feature_select_strategy="default",
                         projector_hidden_act="gelu", pad_token_id=0)
    return tf.LlavaForConditionalGeneration(cfg)


def build_qwen2_5_vl():
    """Qwen2.5-VL's layout at CPU size (about 110 M parameters): vision 12 x 384 (6 heads, gated MLP
    1024, windows of 112 px with full attention at blocks 3, 7, 11), the merger into a 12-layer Qwen2
    decoder (768 wide, 2048 MLP, 12 heads over 4 key/value heads, multimodal rotary [8, 12, 12],
    8000-token vocabulary)."""
    import transformers as tf

    vision = dict(depth=12, hidden_size=384, intermediate_size=1024, num_heads=6, out_hidden_size=768, window_size=112,
                  fullatt_block_indexes=[3, 7, 11], patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    text = dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                num_key_value_heads=4, vocab_size=8000, max_position_embeddings=4096, rms_norm_eps=1e-6,
                rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]}, tie_word_embeddings=False)
    cfg = tf.Qwen2_5_VLConfig(vision_config=vision, text_config=text, image_token_id=IMAGE_TOKEN, video_token_id=7998,
                              vision_start_token_id=VISION_START, vision_end_token_id=VISION_END, tie_word_embeddings=False)
    return tf.Qwen2_5_VLForConditionalGeneration(cfg)


def make_qwen_inputs(g):
    """One 448 x 448 image per row (32 x 32 patches of 14, merged into 256 tokens), flattened as
    Qwen2VLImageProcessor writes its patches, in a ~512-token prompt; no padding."""
    patches, grid = 32 * 32, [1, 32, 32]
    pixels = torch.randn(BATCH * patches, 3 * 2 * 14 * 14, generator=g)
    rows = []
    for _ in range(BATCH):
        prefix = torch.randint(3, VISION_START, (5,), generator=g).tolist()
        text = torch.randint(3, VISION_START, (TEXT_TOKENS - 7,), generator=g).tolist()
        rows.append(prefix + [VISION_START] + [IMAGE_TOKEN] * 256 + [VISION_END] + text)
    ids = torch.tensor(rows, dtype=torch.int64)
    return {"pixel_values": pixels, "image_grid_thw": torch.tensor([grid] * BATCH, dtype=torch.int64), "input_ids": ids,
            "attention_mask": torch.ones_like(ids)}


def make_inputs(cfg, g):
    """BOS, a short prefix, the image's tokens, then text up to ~512 tokens per row; no padding."""
    vc = cfg.vision_config
    per_image = (vc.image_size // vc.patch_size) ** 2
    pixels = torch.randn(BATCH, 3, vc.image_size, vc.image_size, generator=g)
    rows = []
    for _ in range(BATCH):
        prefix = torch.randint(3, IMAGE_TOKEN, (5,), generator=g).tolist()
        text = torch.randint(3, IMAGE_TOKEN, (TEXT_TOKENS - 6,), generator=g).tolist()
        rows.append([1] + prefix + [cfg.image_token_index] * per_image + text)
    ids = torch.tensor(rows, dtype=torch.int64)
    return {"pixel_values": pixels, "input_ids": ids, "attention_mask": torch.ones_like(ids)}


def prepare(folder, family):
    if os.path.exists(folder):
        return 0
    tmp = f"{folder}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    torch.manual_seed(20250611)
    model = (build_qwen2_5_vl() if family == "qwen2_5_vl" else build_model()).eval()
    model.save_pretrained(tmp, safe_serialization=True, max_shard_size="10GB")
    g = torch.Generator().manual_seed(7)
    inputs = make_qwen_inputs(g) if family == "qwen2_5_vl" else make_inputs(model.config, g)
    save_file(inputs, os.path.join(tmp, INPUTS), metadata={"format": "pt"})
    os.rename(tmp, folder)
    return 0


def run(folder, threads, repeats, logits_out, device="cpu", dtype="float32"):
    import transformers as tf

    torch.set_num_threads(threads)
    inputs = {k: v.to(device) for k, v in load_file(os.path.join(folder, INPUTS)).items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(getattr(torch, dtype))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    start = time.perf_counter()
    config = tf.AutoConfig.from_pretrained(folder)
    # Qwen2_5_VLConfig answers attribute reads from its text config (model_type "qwen2_5_vl_text"): ask its class.
    cls = tf.Qwen2_5_VLForConditionalGeneration if isinstance(config, tf.Qwen2_5_VLConfig) else tf.LlavaForConditionalGeneration
    model = cls.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device).eval()
    load_seconds = time.perf_counter() - start

    seconds = []
    with torch.inference_mode():
        out = model(**inputs)  # untimed warm-up: thread pool start, lazy kernel set-up, allocator
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            out = model(**inputs)
            sync()
            seconds.append(time.perf_counter() - start)
    save_file({"logits": out.logits.float().cpu().contiguous()}, logits_out)

    print(json.dumps({
        "seconds": seconds,
        "load_seconds": load_seconds,
        "attn_implementation": model.config._attn_implementation,
        "text_attn_implementation": model.config.text_config._attn_implementation,
        "vision_attn_implementation": model.config.vision_config._attn_implementation,
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": tf.__version__,
    }))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) in (2, 3) and a[0] == "prepare" and (len(a) == 2 or a[2] in ("llava", "qwen2_5_vl")):
        return prepare(a[1], a[2] if len(a) == 3 else "llava")
    if len(a) in (5, 7) and a[0] == "run":
        return run(a[1], int(a[2]), int(a[3]), a[4], *a[5:])
    print("usage: bench_forward_reference.py prepare DIR [llava|qwen2_5_vl] | run DIR THREADS REPEATS LOGITS_OUT [DEVICE DTYPE]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
