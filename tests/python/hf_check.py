"""transformers as the reference loader for checkpoints written by the C++ side.

  hf_check.py load DIR        load DIR with the Auto class its config names; print missing /
                              unexpected keys as JSON; exit 1 if any key is missing or unexpected
  hf_check.py same A B        load both; exit 1 unless every parameter and buffer is bit-identical
  hf_check.py logits DIR INPUTS OUT
                              load DIR (exit 1 on a missing or unexpected key), run it on the
                              keyword arguments saved in INPUTS (safetensors) and write its logits to OUT
"""
import json
import sys

import torch
import transformers

from idefics3_positions import use_trained_positions


def load(path):
    cfg = transformers.AutoConfig.from_pretrained(path)
    if cfg.model_type in ("idefics3", "smolvlm"):
        use_trained_positions()
    architectures = cfg.architectures or getattr(getattr(cfg, "text_config", None), "architectures", None)
    cls = getattr(transformers, architectures[0]) if architectures else transformers.AutoModel
    model, info = cls.from_pretrained(path, output_loading_info=True)
    return model.eval(), info


def main():
    cmd = sys.argv[1]
    if cmd == "load":
        model, info = load(sys.argv[2])
        out = {"missing": info["missing_keys"], "unexpected": info["unexpected_keys"],
               "params": sum(p.numel() for p in model.parameters())}
        print(json.dumps(out))
        return 1 if out["missing"] or out["unexpected"] else 0
    if cmd == "same":
        a, ia = load(sys.argv[2])
        b, ib = load(sys.argv[3])
        sa, sb = a.state_dict(), b.state_dict()
        diff = [k for k in sa if k not in sb or sa[k].dtype != sb[k].dtype or not torch.equal(sa[k], sb[k])]
        print(json.dumps({"tensors": len(sa), "different": diff[:10], "missing_b": ib["missing_keys"]}))
        return 1 if diff or len(sa) != len(sb) or ib["missing_keys"] or ib["unexpected_keys"] else 0
    if cmd == "logits":
        from safetensors.torch import load_file, save_file

        model, info = load(sys.argv[2])
        if info["missing_keys"] or info["unexpected_keys"]:
            sys.exit(f"{sys.argv[2]}: missing {info['missing_keys']}, unexpected {info['unexpected_keys']}")
        with torch.no_grad():
            logits = model(**load_file(sys.argv[3])).logits
        save_file({"logits": logits.contiguous()}, sys.argv[4])
        return 0
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
