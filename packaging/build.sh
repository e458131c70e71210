#!/usr/bin/env bash
# Configures and builds PruneStudio into BUILD_DIR (default build/) with Ninja and ccache.
# Extra arguments are passed to CMake's configure step, e.g. -DPRUNESTUDIO_GUI=OFF.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
