"""The reference side of bench_token_methods: the models and prompts it times, and the answers a
hand reference gives when it drops the same image tokens.

  bench_token_methods_reference.py prepare DIR DEFAULT_VLM
      writes, when absent, DIR/llava (a random LLaVA-1.5-shaped model of about 93 M parameters: CLIP
      ViT 6 x 256 at 336 px, patch 14 -> 576 image tokens, feature layer -2, GELU projector; LLaMA
      12 x 768, MLP 2048, 12 heads over 4 key/value heads, vocabulary 8000) with DIR/llava-inputs.safetensors
      (one image in a 640-token prompt), and DIR/default-inputs.safetensors: 32 random 28-px images
      in one prompt for the generative default at DEFAULT_VLM (512 image tokens of 16 each, in the
      default's chat template around a question).
  bench_token_methods_reference.py answers MODEL INPUTS KEEP NEW OUT
      for the methods that choose image tokens before the language model or in the vision tower
      (random, dart, divprune and, for a feature layer inside the tower, fastervlm and visionzip;
      their defaults: seed 0, 8 pivots, contextual share 0.15625) and none: the image features kept by the rules of
      tests/python/token_methods_reference.py, written over a prompt that holds only those image
      tokens, and NEW greedy tokens from transformers' language model on it (KV cache); writes OUT
      with one [1, NEW] int64 tensor per method.
"""
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import token_methods_reference as rules  # noqa: E402

IMAGE_TOKEN = 7999


def build_llava():
    import transformers as tf

    vision = tf.CLIPVisionConfig(hidden_size=256, intermediate_size=1024, num_hidden_layers=6, num_attention_heads=4,
                                 image_size=336, patch_size=14)
    text = tf.LlamaConfig(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                          num_key_value_heads=4, vocab_size=8000, max_position_embeddings=2048, rms_norm_eps=1e-5,
                          tie_word_embeddings=False)
    cfg = tf.LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN, image_seq_length=576,
                         vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu",
                         pad_token_id=0)
    return tf.LlavaForConditionalGeneration(cfg)


def prepare(folder, default_vlm):
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    llava = os.path.join(folder, "llava")
    if not os.path.exists(llava):
        tmp = f"{llava}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        torch.manual_seed(20251206)
        model = build_llava().eval()
        model.save_pretrained(tmp, safe_serialization=True)
        os.rename(tmp, llava)
        text = torch.randint(3, IMAGE_TOKEN, (63,), generator=g).tolist()
        ids = torch.tensor([[1] + text[:34] + [IMAGE_TOKEN] * 576 + text[34:]], dtype=torch.int64)
        save_file({"pixel_values": torch.randn(1, 3, 336, 336, generator=g), "input_ids": ids},
                  os.path.join(folder, "llava-inputs.safetensors"))
    inputs = os.path.join(folder, "default-inputs.safetensors")
    if not os.path.exists(inputs):
        import transformers as tf

        cfg = tf.AutoConfig.from_pretrained(default_vlm)
        tok = tf.AutoTokenizer.from_pretrained(default_vlm)
        images = 32
        image = tok.convert_ids_to_tokens(cfg.image_token_index) * cfg.image_seq_length
        prompt = tok.apply_chat_template([{"role": "user", "content": image * images + "\nWhat are these clothes?"}],
                                         tokenize=False, add_generation_prompt=True)
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        assert int((ids == cfg.image_token_index).sum()) == images * cfg.image_seq_length
        save_file({"pixel_values": torch.randn(images, 3, 28, 28, generator=g), "input_ids": ids}, inputs)


def answers(model_dir, inputs_path, keep, new_tokens, out):
    import transformers as tf

    model = tf.LlavaForConditionalGeneration.from_pretrained(model_dir, attn_implementation="eager").eval()
    cfg = model.config
    inputs = load_file(inputs_path)
    pixels, ids = inputs["pixel_values"], inputs["input_ids"][0]
    lm, embed, project = model.model.language_model, model.model.language_model.get_input_embeddings(), model.model.multi_modal_projector
    result = {}
    with torch.no_grad():
        projected = model.model.get_image_features(pixel_values=pixels)
        if isinstance(projected, (list, tuple)):
            projected = torch.stack(list(projected))  # [images, n, D]
        vis = model.model.vision_tower(pixels, output_hidden_states=True, output_attentions=True)
        layer = cfg.vision_feature_layer
        patches = vis.hidden_states[layer][:, 1:]  # the "default" strategy's patches, before the projector
        cls = vis.attentions[len(vis.hidden_states) + layer - 1][:, :, 0, 1:].mean(1).numpy()
        n = projected.shape[1]
        k = max(1, min(n, int(keep * n + 0.5)))  # llround, as kept_tokens rounds
        # FasterVLM and VisionZip choose among the vision tower's patches; with features from its last
        # block (layer -1) a final layernorm may follow the block, so they are left to feature layers within.
        methods = ["none", "random", "dart", "divprune"] + (["fastervlm", "visionzip"] if layer != -1 else [])
        for method in methods:
            feats = []
            for i in range(projected.shape[0]):
                x = projected[i]
                if method == "none":
                    feats.append(x)
                elif method == "random":
                    feats.append(x[torch.tensor(rules.random_tokens(n, k, 0))])
                elif method == "dart":
                    feats.append(x[torch.tensor(rules.dart(x.numpy(), k, 8))])
                elif method == "divprune":
                    feats.append(x[torch.tensor(rules.divprune(x.numpy(), k))])
                elif method == "fastervlm":
                    feats.append(project(patches[i, sorted(torch.tensor(cls[i]).topk(k).indices.tolist())]))
                else:
                    c = int(k * 0.15625 + 0.5)
                    kept, merged = rules.visionzip(patches[i].numpy(), cls[i], k - c, c)
                    feats.append(project(torch.cat([patches[i, kept], torch.tensor(merged, dtype=torch.float32)])))
            rows, image = [], 0
            slots = (ids == cfg.image_token_index).tolist()
            i = 0
            while i < len(slots):  # each run of image tokens is one image's
                if not slots[i]:
                    rows.append(embed(ids[i : i + 1]))
                    i += 1
                    continue
                begin = i
                while i < len(slots) and slots[i]:
                    i += 1
                for _ in range((i - begin) // n):  # images whose tokens follow each other: n tokens each
                    rows.append(feats[image])
                    image += 1
            x = torch.cat(rows)[None]
            state = lm(inputs_embeds=x, use_cache=True)
            tokens = []
            for _ in range(new_tokens):
                nxt = model.lm_head(state.last_hidden_state[:, -1]).argmax(-1)
                tokens.append(int(nxt))
                state = lm(inputs_embeds=embed(nxt)[:, None], past_key_values=state.past_key_values, use_cache=True)
            result[method] = torch.tensor([tokens], dtype=torch.int64)
    save_file(result, out)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    else:
        answers(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
