"""The `gguf` package and transformers' GGUF loader as references for core/io/gguf*.cpp and SmolLM2.

  gguf_reference.py types OUT         OUT/types.gguf: metadata of every value type and one tensor
                                      per supported ggml type (F32, F16, BF16, Q8_0, Q4_0, Q4_1);
                                      OUT/types.json (the metadata) and OUT/types.safetensors (each
                                      tensor dequantised by gguf.quants)
  gguf_reference.py tiny-llama OUT    OUT/tiny.gguf: a random LlamaForCausalLM written as llama.cpp's
                                      converter writes it (names, Q/K rows permuted, mixed types);
                                      OUT/tiny.safetensors: the state dict transformers loads from it
  gguf_reference.py smollm2 GGUF OUT  transformers on the SmolLM2 file: some of its tensors
                                      (OUT/smollm2_tensors.safetensors), the logits of a chat prompt
                                      (OUT/smollm2_logits.safetensors) and greedy answers to five
                                      prompts (OUT/smollm2.json)
Nothing is downloaded.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

import gguf
from gguf import GGMLQuantizationType as Q

TYPES = {"F32": Q.F32, "F16": Q.F16, "BF16": Q.BF16, "Q8_0": Q.Q8_0, "Q4_0": Q.Q4_0, "Q4_1": Q.Q4_1}


def encode(data, qtype):
    """(array to write, its raw ggml type) for float32 `data`."""
    if qtype == Q.F32:
        return data.astype(np.float32), None
    if qtype == Q.F16:
        return data.astype(np.float16), None
    return gguf.quants.quantize(data, qtype), qtype


def write_types(out):
    rng = np.random.default_rng(7)
    path = os.path.join(out, "types.gguf")
    w = gguf.GGUFWriter(path, arch="test")
    meta = {
        "test.u8": (255, gguf.GGUFValueType.UINT8), "test.i8": (-128, gguf.GGUFValueType.INT8),
        "test.u16": (65535, gguf.GGUFValueType.UINT16), "test.i16": (-32768, gguf.GGUFValueType.INT16),
        "test.u32": (4000000000, gguf.GGUFValueType.UINT32), "test.i32": (-2000000000, gguf.GGUFValueType.INT32),
        "test.u64": (2**63 + 5, gguf.GGUFValueType.UINT64), "test.i64": (-(2**62), gguf.GGUFValueType.INT64),
        "test.f32": (0.1, gguf.GGUFValueType.FLOAT32), "test.f64": (0.1, gguf.GGUFValueType.FLOAT64),
        "test.bool": (True, gguf.GGUFValueType.BOOL), "test.string": ("héllo, wörld 🚀", gguf.GGUFValueType.STRING),
        "test.strings": (["a", "", "ß"], gguf.GGUFValueType.ARRAY),
        "test.ints": ([1, -2, 3], gguf.GGUFValueType.ARRAY),
        "test.nested": ([[1, 2], [3]], gguf.GGUFValueType.ARRAY),
    }
    for key, (value, vtype) in meta.items():
        w.add_key_value(key, value, vtype)
    expected = {k: v for k, (v, _) in meta.items()}
    expected["test.f32"] = float(np.float32(0.1))
    expected["general.architecture"] = "test"
    reference = {}
    for name, qtype in TYPES.items():
        data = rng.standard_normal((3, 64)).astype(np.float32)
        data[0, :32] *= 40.0  # blocks of very different scales
        array, raw = encode(data, qtype)
        if raw is None:
            w.add_tensor(name, array)
        else:
            w.add_tensor(name, array, raw_dtype=raw)
        reference[name] = torch.from_numpy(np.ascontiguousarray(
            gguf.quants.dequantize(array.view(np.uint8) if raw is not None else array, qtype).astype(np.float32)
        ).reshape(3, 64))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(out, "types.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False)
    save_file(reference, os.path.join(out, "types.safetensors"))


def permute(w, heads):
    """llama.cpp's convert_hf_to_gguf: rotary halves interleaved within each head."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_llama(out):
    import transformers

    torch.manual_seed(3)
    cfg = transformers.LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                   rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    model = transformers.LlamaForCausalLM(cfg).eval()
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    block = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    # One ggml type per kind of tensor, so every supported type crosses the permutation and the loader.
    types = {"attn_q": Q.Q4_1, "attn_k": Q.Q8_0, "attn_v": Q.Q4_0, "attn_output": Q.F16, "ffn_gate": Q.BF16,
             "ffn_up": Q.Q4_1, "ffn_down": Q.Q8_0, "token_embd": Q.Q8_0, "output": Q.F16}
    path = os.path.join(out, "tiny.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    for name, value in sd.items():
        if name.startswith("model.layers."):
            _, _, i, rest = name.split(".", 3)
            module, _ = rest.rsplit(".", 1)
            gname = f"blk.{i}.{block[module]}.weight"
        else:
            gname = names[name]
        kind = gname.split(".")[-2]
        if kind == "attn_q":
            value = permute(value, cfg.num_attention_heads)
        elif kind == "attn_k":
            value = permute(value, cfg.num_key_value_heads)
        array, raw = encode(np.ascontiguousarray(value), types.get(kind, Q.F32))
        if raw is None:
            w.add_tensor(gname, array)
        else:
            w.add_tensor(gname, array, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    loaded = transformers.LlamaForCausalLM.from_pretrained(out, gguf_file="tiny.gguf", dtype=torch.float32)
    save_file({k: v.contiguous() for k, v in loaded.state_dict().items()}, os.path.join(out, "tiny.safetensors"))


PROMPTS = [
    "What is the capital of France? Answer in one word.",
    "Name three colors.",
    "Is a sneaker a kind of shoe? Answer yes or no.",
    "Write a short sentence about the sea.",
    "What do you wear on your feet when it rains?",
]


def write_smollm2(gguf_path, out):
    import transformers

    folder, name = os.path.split(gguf_path)
    tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    sd = model.state_dict()
    keep = [k for k in sd if (k.startswith(("model.layers.0.", "model.layers.29.")) or "layers" not in k)
            and k != "lm_head.weight"]  # tied to the embedding
    save_file({k: sd[k].contiguous() for k in keep}, os.path.join(out, "smollm2_tensors.safetensors"))
    cases = []
    with torch.no_grad():
        for i, text in enumerate(PROMPTS):
            ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                          return_tensors="pt")
            if i == 0:
                logits = model(ids).logits[0]
                save_file({"logits": logits.contiguous(), "input_ids": ids[0].contiguous()},
                          os.path.join(out, "smollm2_logits.safetensors"))
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False,
                                 eos_token_id=2, pad_token_id=2)
            cases.append({"text": text, "ids": ids[0].tolist(), "generated": gen[0, ids.shape[1]:].tolist(),
                          "answer": tok.decode(gen[0, ids.shape[1]:], skip_special_tokens=True)})
    with open(os.path.join(out, "smollm2.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, indent=0)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    mode, out = sys.argv[1], sys.argv[-1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    if mode == "types":
        write_types(out)
    elif mode == "tiny-llama":
        write_tiny_llama(out)
    elif mode == "smollm2":
        write_smollm2(sys.argv[2], out)
    else:
        raise SystemExit(f"unknown mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
