#!/usr/bin/env bash
# Makes the virtualenv bench_peers runs llm-compressor from: its own, beside the build, because
# llm-compressor 0.14 wants torch >= 2.10 and transformers 5 while the project's .venv pins the
# LibTorch the build links. Idempotent: a venv that already holds the pinned release and imports
# it is left alone; anything else is (re)installed. Prints the versions it holds.
#   bench_peers_setup.sh VENV
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VENV" >&2; exit 64; }
VENV=$1
PIN="llmcompressor==0.14.0.1"
STAMP="$VENV/prunestudio-peers.txt"
versions() {
  "$VENV/bin/python" - <<'PY'
import importlib.metadata as m
print(" ".join(f"{p} {m.version(p)}" for p in ("llmcompressor", "torch", "transformers", "compressed-tensors")))
PY
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PIN" ] && "$VENV/bin/python" -c "import llmcompressor" >/dev/null 2>&1; then
  versions
  exit 0
fi
echo "setting up $VENV with $PIN (torch and transformers come with it; a few GB, once) ..." >&2
rm -f "$STAMP"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIN" >&2
echo "$PIN" >"$STAMP"
versions
