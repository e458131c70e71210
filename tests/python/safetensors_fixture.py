"""Reference side of the safetensors interop tests, using the PyPI `safetensors` package.

  write OUT_DIR         write fixture.safetensors with one tensor per dtype, plus each tensor's raw
                        bytes as <name>.bin and manifest.json (name -> dtype, shape)
  check FILE           load a file written by the C++ writer and compare it with the values
                        expected(name, dtype, shape) defines; exit 1 on any difference
"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
SHAPES = [[3, 5], [7], [2, 3, 4], [], [0, 4]]


def expected(dtype, shape, salt):
    """Deterministic values both sides can compute: (i * 37 + salt) mod 251 - 125, cast."""
    n = 1
    for d in shape:
        n *= d
    v = (torch.arange(n, dtype=torch.int64) * 37 + salt) % 251 - 125
    if dtype == torch.bool:
        return (v % 2 == 0).reshape(shape)
    if dtype == torch.uint8:
        return (v + 125).to(torch.uint8).reshape(shape)
    if dtype.is_floating_point:
        return (v.to(torch.float64) / 8.0).to(dtype).reshape(shape)
    return v.to(dtype).reshape(shape)


def write(out_dir):
    torch.manual_seed(0)
    tensors, manifest = {}, {}
    for di, (name, dt) in enumerate(DTYPES.items()):
        for si, shape in enumerate(SHAPES):
            key = f"t.{name.lower()}.{si}"
            if dt.is_floating_point and shape and shape[0] > 0:
                t = (torch.randn(shape, dtype=torch.float64) * 3).to(dt)  # full-precision random bits
            else:
                t = expected(dt, shape, di * 10 + si)
            tensors[key] = t
            manifest[key] = {"dtype": name, "shape": shape}
    save_file(tensors, os.path.join(out_dir, "fixture.safetensors"), metadata={"origin": "python", "k": "v"})
    for key, t in tensors.items():
        raw = t.contiguous().view(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
        with open(os.path.join(out_dir, key + ".bin"), "wb") as f:
            f.write(raw.numpy().tobytes())
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def check(path):
    bad = 0
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        keys = list(f.keys())
        for key in keys:
            t = f.get_tensor(key)
            # names written by the C++ test: "<DTYPE>.<salt>" with shape in the metadata
            dtype_name, salt = key.split(".")
            shape = json.loads(meta[key])
            want = expected(DTYPES[dtype_name], shape, int(salt))
            if t.dtype != want.dtype or list(t.shape) != shape or not torch.equal(t, want):
                print(f"{path}: tensor {key} differs", file=sys.stderr)
                bad += 1
    print(json.dumps({"tensors": len(keys), "bad": bad}))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
