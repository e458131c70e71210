#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (CTest), checks the .deb (packaging/test_deb.sh:
# built, installed into a test root, run, purged), fuzzes the parsers (packaging/fuzz.sh),
# then runs tests again in an AddressSanitizer + UndefinedBehaviorSanitizer build: by default the
# tests labelled io (parsers, and every bad-input case through the CLI); with --sanitize-all the whole
# suite (on 2 cores about 40 min more: 23 min to build, 16 to run). Prints each stage's time at the
# end; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANITIZE_ALL=0
for arg in "$@"; do
  case $arg in
    --sanitize-all) SANITIZE_ALL=1 ;;
    *) echo "usage: $0 [--sanitize-all]" >&2; exit 2 ;;
  esac
done

stages=()
last=$SECONDS
stage() { stages+=("$(printf '%-34s %5d s' "$1" $((SECONDS - last)))"); last=$SECONDS; }
report() { printf '[test] %s\n' "${stages[@]}" "$(printf '%-34s %5d s' total "$SECONDS")"; }
trap report EXIT

bash "$ROOT/packaging/setup.sh"
stage "set-up"
BUILD_DIR="$ROOT/build" bash "$ROOT/packaging/build.sh"
stage "build"
ctest --test-dir "$ROOT/build" --output-on-failure -j "$(nproc)"
stage "test suite"
BUILD_DIR="$ROOT/build" bash "$ROOT/packaging/test_deb.sh"
stage "package"

# Fuzzing: every libFuzzer target (tests/fuzz) for FUZZ_SECONDS (20) from its seed corpus.
bash "$ROOT/packaging/fuzz.sh"
stage "fuzzing"

ASAN_DIR="$ROOT/build-asan"
if ((SANITIZE_ALL)); then gui=ON; else gui=OFF; fi
# Line tables only (-g1): all a sanitizer report needs, at three quarters of -g's compile time.
cmake -S "$ROOT" -B "$ASAN_DIR" -G Ninja -DPRUNESTUDIO_GUI=$gui -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DPRUNESTUDIO_SANITIZE=address,undefined >/dev/null
if ((SANITIZE_ALL)); then
  cmake --build "$ASAN_DIR" -j "$(nproc)"
  labels=()
else
  mapfile -t asan_tests < <(ctest --test-dir "$ASAN_DIR" -N -L io | sed -n 's/^ *Test *#[0-9]*: //p')
  cmake --build "$ASAN_DIR" -j "$(nproc)" --target prunestudio-cli "${asan_tests[@]}"
  labels=(-L io)
fi
stage "sanitizer build"
ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j "$(nproc)" "${labels[@]}"
stage "sanitizer tests"
