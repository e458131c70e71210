#!/usr/bin/env bash
# Sets up, builds, and runs PruneStudio on the built-in default model (assembled by the build in
# build/default-model): the GUI when a display is available, otherwise prunestudio-cli inspects
# the model and evaluates it on the Fashion-MNIST test images (zero-shot and retrieval).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
bash "$ROOT/packaging/setup.sh"
bash "$ROOT/packaging/build.sh"
MODEL="$BUILD_DIR/default-model"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/app/prunestudio" ]; then
  exec "$BUILD_DIR/app/prunestudio" "$MODEL"
fi
echo "[run] no display: inspecting and evaluating the default model with prunestudio-cli"
"$BUILD_DIR/app/prunestudio-cli" inspect "$MODEL"
exec "$BUILD_DIR/app/prunestudio-cli" eval "$MODEL"
