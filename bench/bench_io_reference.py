"""Python side of bench/bench_io: opens a checkpoint folder with safetensors.safe_open(framework="pt")
and reads every tensor with the same touch operation as the C++ side (`t.sum()` in the tensor's own
dtype, which reads every byte), so bench_io can compare our C++ reader against the reference loader.

Like the C++ side, it runs one untimed open + touch pass first (torch's lazy kernel set-up, thread
pool start and placement) and then times one pass. Interpreter start-up and `import torch` are not
timed, nor is tearing the mappings down (the C++ side does not time that either).

Usage: bench_io_reference.py DIR THREADS
Prints one JSON line: {"seconds": ..., "checksum": ..., "tensors": N}
"""
import glob
import json
import os
import sys
import time

import torch
from safetensors import safe_open


def open_and_touch(folder: str):
    """Same folder handling as ps::Checkpoint::open, then every tensor in sorted-name order.

    Returns (checksum, tensor count, open handles): the caller drops the handles (unmapping the
    files, ~25 ms per GB) after stopping its clock, as the C++ side does."""
    with open(os.path.join(folder, "config.json")) as f:
        json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        handles = {name: safe_open(os.path.join(folder, name), framework="pt")
                   for name in sorted(set(weight_map.values()))}
    else:
        single = os.path.join(folder, "model.safetensors")
        files = [single] if os.path.exists(single) else sorted(glob.glob(os.path.join(folder, "*.safetensors")))
        handles, weight_map = {}, {}
        for path in files:
            name = os.path.basename(path)
            handles[name] = safe_open(path, framework="pt")
            weight_map.update({key: name for key in handles[name].keys()})

    checksum = 0.0
    names = sorted(weight_map)  # ps::Checkpoint::names() order, so the float64 additions match
    for name in names:
        checksum += handles[weight_map[name]].get_tensor(name).sum().item()
    return checksum, len(names), handles


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: bench_io_reference.py DIR THREADS", file=sys.stderr)
        return 2
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)

    open_and_touch(folder)  # untimed warm-up pass; its handles are dropped (unmapped) right here
    start = time.perf_counter()
    checksum, count, handles = open_and_touch(folder)
    seconds = time.perf_counter() - start
    del handles

    print(json.dumps({"seconds": seconds, "checksum": checksum, "tensors": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
