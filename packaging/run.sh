#!/usr/bin/env bash
# Sets up, builds, and runs PruneStudio on the built-in demo checkpoint: the GUI when a display is
# available, otherwise `prunestudio-cli inspect` on the same checkpoint.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
bash "$ROOT/packaging/setup.sh"
bash "$ROOT/packaging/build.sh"
DEMO="$BUILD_DIR/demo-checkpoint"
[ -d "$DEMO" ] || "$BUILD_DIR/app/prunestudio-cli" make-demo "$DEMO"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/app/prunestudio" ]; then
  exec "$BUILD_DIR/app/prunestudio" "$DEMO"
fi
echo "[run] no display: showing the checkpoint with prunestudio-cli inspect"
exec "$BUILD_DIR/app/prunestudio-cli" inspect "$DEMO"
