"""Python side of bench/bench_generate: transformers' LlavaForConditionalGeneration.generate over the
same batches of questions that bench_generate answers with our batched greedy decoding.

  bench_generate_reference.py MODEL INPUTS THREADS MAX_NEW EOS PAD OUT

MODEL is the generative default's folder; INPUTS a safetensors file with, for each batch k,
input_ids.k and attention_mask.k (left-padded) and pixel_values.k. Loads the model with
from_pretrained (float32, transformers' default attention implementation), runs one untimed
generate on the first batch, then times generate(do_sample=False, max_new_tokens=MAX_NEW) on every
batch under torch.inference_mode(). Writes OUT (safetensors): tokens.k [B, MAX_NEW] of the new
tokens, PAD after a row's EOS. Prints one JSON line: {"seconds": total, "threads", "attn_implementation",
"torch", "transformers"}. Only the generate calls are timed.
"""
import json
import sys
import time

import torch
from safetensors.torch import load_file, save_file


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    model_dir, inputs_path, threads, max_new, eos, pad, out = sys.argv[1:]
    import transformers as tf

    torch.set_num_threads(int(threads))
    inputs = load_file(inputs_path)
    batches = sorted({int(k.split(".")[1]) for k in inputs})
    model = tf.LlavaForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval()

    def generate(k):
        ids = inputs[f"input_ids.{k}"]
        return model.generate(input_ids=ids, attention_mask=inputs[f"attention_mask.{k}"], pixel_values=inputs[f"pixel_values.{k}"],
                              do_sample=False, max_new_tokens=int(max_new), eos_token_id=int(eos), pad_token_id=int(pad))[:, ids.shape[1]:]

    tokens = {}
    with torch.inference_mode():
        generate(batches[0])  # untimed warm-up: thread pool start, lazy kernel set-up, allocator
        start = time.perf_counter()
        for k in batches:
            tokens[f"tokens.{k}"] = generate(k).contiguous()
        seconds = time.perf_counter() - start
    save_file(tokens, out)
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads(), "attn_implementation": model.config._attn_implementation,
                      "torch": torch.__version__, "transformers": tf.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
