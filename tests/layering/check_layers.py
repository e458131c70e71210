#!/usr/bin/env python3
"""Checks that every #include in core/ points down the layers (docs/architecture.md):

    base < io, dist < data, model < prune, token, train < eval, recover, report < job

An include of a module on the same level or below is fine; one that runs up the layers fails the
check, named with its file and line. ui/ must not include LibTorch or core's torch headers (it
builds against core's front-end headers; the compiler enforces that, this check names the line).

    check_layers.py ROOT          checks the tree at ROOT
    check_layers.py --self-test   also checks that a planted upward include is caught
"""
import os
import re
import shutil
import sys
import tempfile

LEVEL = {"base": 0, "io": 1, "dist": 1, "data": 2, "model": 2, "prune": 3, "token": 3, "train": 3,
         "eval": 4, "recover": 4, "report": 4, "job": 5}
INCLUDE = re.compile(r'\s*#\s*include\s*"(core/[^"]+)"')


def module(path):
    """core/x.h -> base; core/prune/x.h -> prune."""
    parts = path.split("/")
    return "base" if len(parts) == 2 else parts[1]


def violations(root):
    out = []
    core = os.path.join(root, "core")
    for folder, _, files in os.walk(core):
        for name in sorted(files):
            if not name.endswith((".h", ".cpp")):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            here = module(rel)
            if here not in LEVEL:
                out.append(f"{rel}: module '{here}' has no level in the layering (add it to LEVEL)")
                continue
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = module(m.group(1))
                    if target not in LEVEL:
                        out.append(f"{rel}:{number}: includes {m.group(1)} of unknown module '{target}'")
                    elif LEVEL[target] > LEVEL[here]:
                        out.append(f"{rel}:{number}: {here} includes {m.group(1)}, a layer above it ({target})")
    return out


def self_test(root):
    """A copy of core/ with one upward include planted must fail the check."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(root, "core"), os.path.join(tmp, "core"))
        planted = os.path.join(tmp, "core", "io", "safetensors.h")
        with open(planted, "a", encoding="utf-8") as f:
            f.write('#include "core/job/plan.h"\n')
        found = violations(tmp)
        if not any("core/io/safetensors.h" in v and "core/job/plan.h" in v for v in found):
            print("self-test: a planted include of core/job/plan.h in core/io was not caught", file=sys.stderr)
            return False
        print("self-test: the planted upward include is caught: " + found[-1])
    return True


def main(argv):
    test = "--self-test" in argv
    args = [a for a in argv if a != "--self-test"]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    found = violations(root)
    for v in found:
        print(v, file=sys.stderr)
    ok = not found
    if test:
        ok = self_test(root) and ok
    if not found:
        print(f"layering: every include in {os.path.join(root, 'core')} points down")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
