#!/usr/bin/env bash
# Sets up, builds what it runs (the GUI, the CLI, the plugins and the default models, assembled in
# build/default-vlm and build/default-model; not the test suites or benchmarks), and runs
# PruneStudio on the generative default (LLaVA: a Fashion-MNIST ViT and SmolLM2-135M-Instruct): the
# GUI when a display is available (File > Open built-in model has the dual encoder), otherwise
# prunestudio-cli inspects the model, asks it about a test image and scores a few hundred questions.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
bash "$ROOT/packaging/setup.sh"
BUILD_TARGET=runnable bash "$ROOT/packaging/build.sh"
MODEL="$BUILD_DIR/default-vlm"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/app/prunestudio" ]; then
  exec "$BUILD_DIR/app/prunestudio" "$MODEL"
fi
CLI="$BUILD_DIR/app/prunestudio-cli"
IMAGE="$ROOT/resources/samples/fashion-mnist-test-0.png"
echo "[run] no display: inspecting the generative default, asking it about $IMAGE, scoring 300 questions"
"$CLI" inspect "$MODEL" | sed -n 1,12p
for q in "What is the item in this image?" "Is there a sneaker in the image?"; do
  printf 'Q: %s\nA: ' "$q"
  "$CLI" run "$MODEL" --image "$IMAGE" --text "$q" --max-new-tokens 16
done
exec "$CLI" eval "$MODEL" --limit 100
