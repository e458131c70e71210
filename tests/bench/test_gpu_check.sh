#!/usr/bin/env bash
# bench/gpu_check.sh's logic on a machine without a GPU: --dry-run lists every step with its
# command and runs none (no step log is written), a bad option is refused with the usage (64),
# and, where no GPU is present, a real run stops at once saying so (1).
#   test_gpu_check.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "test_gpu_check: $*" >&2; exit 1; }

out=$(bash "$ROOT/bench/gpu_check.sh" --dry-run --build-dir "$BUILD" --work "$WORK") || fail "--dry-run exited $?"
for step in build tests prepare-peers prune-wanda prune-sparsegpt forward tokens generate prune-7b kernel-2of4; do
  grep -qE "^\[dry-run\] $step +[^ ]" <<<"$out" || fail "--dry-run does not show step $step: $out"
done
grep -qF "ctest --test-dir $BUILD -L cuda" <<<"$out" || fail "the CUDA tests are not run from $BUILD"
grep -qF -- "--method sparsegpt --samples 32 --device cuda --dtype bfloat16" <<<"$out" || fail "the 7B prune is not SparseGPT in bfloat16 on CUDA"
grep -qF "dry run: nothing was run" <<<"$out" || fail "no closing line"
[ -z "$(find "$WORK" -name '*.log')" ] || fail "a dry run wrote step logs: $(find "$WORK" -name '*.log')"

rc=0
bash "$ROOT/bench/gpu_check.sh" --frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "a bad option exited $rc, not 64"

if ! (command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1); then
  rc=0
  err=$(bash "$ROOT/bench/gpu_check.sh" --build-dir "$BUILD" --work "$WORK" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] && grep -q "no CUDA GPU here" <<<"$err" || fail "without a GPU a real run said ($rc): $err"
fi
echo "test_gpu_check: passed"
