#!/usr/bin/env bash
# Configures and builds PruneStudio into BUILD_DIR (default build/) with Ninja and ccache: every
# target, or only BUILD_TARGET when set (packaging/run.sh builds "runnable": the app, the CLI, the
# plugins and the default model). Extra arguments are passed to CMake's configure step, e.g.
# -DPRUNESTUDIO_GUI=OFF.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
