#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (CTest), fuzzes the parsers (packaging/fuzz.sh),
# then runs the I/O and bad-input tests again in an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/packaging/setup.sh"

BUILD_DIR="$ROOT/build" bash "$ROOT/packaging/build.sh"
ctest --test-dir "$ROOT/build" --output-on-failure -j "$(nproc)"

# Fuzzing: every libFuzzer target (tests/fuzz) for FUZZ_SECONDS (60) from its seed corpus.
bash "$ROOT/packaging/fuzz.sh"

# Sanitizer variant: core, CLI and the tests labelled io (parsers and every bad-input case).
ASAN_DIR="$ROOT/build-asan"
cmake -S "$ROOT" -B "$ASAN_DIR" -G Ninja -DPRUNESTUDIO_GUI=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DPRUNESTUDIO_SANITIZE=address,undefined >/dev/null
mapfile -t asan_tests < <(ctest --test-dir "$ASAN_DIR" -N -L io | sed -n 's/^ *Test *#[0-9]*: //p')
cmake --build "$ASAN_DIR" -j "$(nproc)" --target prunestudio-cli "${asan_tests[@]}"
ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j "$(nproc)" -L io
