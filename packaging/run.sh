#!/usr/bin/env bash
# Sets up, builds what it runs (the GUI, the CLI, the plugins and the default model, assembled in
# build/default-model; not the test suites or benchmarks), and runs PruneStudio on the built-in
# default model: the GUI when a display is available, otherwise prunestudio-cli inspects the model
# and evaluates it on the Fashion-MNIST test images (zero-shot and retrieval).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
bash "$ROOT/packaging/setup.sh"
BUILD_TARGET=runnable bash "$ROOT/packaging/build.sh"
MODEL="$BUILD_DIR/default-model"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/app/prunestudio" ]; then
  exec "$BUILD_DIR/app/prunestudio" "$MODEL"
fi
echo "[run] no display: inspecting and evaluating the default model with prunestudio-cli"
"$BUILD_DIR/app/prunestudio-cli" inspect "$MODEL"
exec "$BUILD_DIR/app/prunestudio-cli" eval "$MODEL"
