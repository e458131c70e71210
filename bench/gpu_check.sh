#!/usr/bin/env bash
# The GPU check: on a CUDA machine, one command that builds what it needs (or reuses the build),
# runs every test with a CUDA path (ctest label "cuda"), then on the GPU in bfloat16: the pruning
# of bench_peers' LLaVA-1.5-shaped model by the CLI (Wanda and SparseGPT, 50 %), our forward
# against transformers' on the same GPU (bench_forward), the vision tower with run-time token
# pruning (bench_tokens), greedy generation of the generative default on its
# built-in questions, a streamed SparseGPT 50 % prune of a generated LLaVA-7B-shaped checkpoint
# (time and peak GPU memory, polled from nvidia-smi), and the 2:4 speed-up of a 2:4-pruned 7B
# layer's Linears through the semi-structured sparse kernel against dense (bench_semi_structured).
# Prints one table headed with the GPU's name; each step's log stays in WORK.
#
#   bench/gpu_check.sh [--dry-run] [--build-dir DIR] [--work DIR]
#
# --dry-run runs nowhere near a GPU: it checks what it can here (the tools each step needs, the
# build's programs, the disk the 7B checkpoint takes) and prints every step's command without
# running it. WORK defaults to $TMPDIR (or /tmp)/prunestudio-gpu-check; the 7B checkpoint (about
# 27 GB of float32) is kept there for later runs. Exits non-zero when a step fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DRY=0
BUILD=$ROOT/build
WORK=${TMPDIR:-/tmp}/prunestudio-gpu-check
while (($#)); do
  case $1 in
    --dry-run) DRY=1 ;;
    --build-dir) BUILD=$(realpath -m "$2"); shift ;;
    --work) WORK=$(realpath -m "$2"); shift ;;
    *) echo "usage: $0 [--dry-run] [--build-dir DIR] [--work DIR]" >&2; exit 64 ;;
  esac
  shift
done
CLI=$BUILD/app/prunestudio-cli
PY=$ROOT/.venv/bin/python
PEERS=$WORK/peers-model
LARGE_GIB=25     # the float32 size that gives the 7B-shaped decoder its 32 layers (bench_large_model)
LARGE_NEED=$((30 * 1024 * 1024))  # KiB of disk for it and its pruned copy's shards
mkdir -p "$WORK"

rows=()
failed=0
note() { printf '[gpu-check] %s\n' "$*"; }

# step NAME FIGURE-PATTERN COMMAND...: runs COMMAND with its output in WORK/NAME.log, and puts the
# last log line matching FIGURE-PATTERN (an extended regex) in the table.
step() {
  local name=$1 pattern=$2
  shift 2
  if ((DRY)); then
    printf '[dry-run] %-22s %s\n' "$name" "$*"
    return 0
  fi
  note "$name: $*"
  local t0=$SECONDS status=ok log=$WORK/$name.log
  "$@" >"$log" 2>&1 || { status=FAILED; failed=1; }
  local figure
  figure=$(grep -E "$pattern" "$log" | tail -1 || true)
  rows+=("$(printf '%-22s %-7s %6d s  %s' "$name" "$status" $((SECONDS - t0)) "${figure:-(see $log)}")")
}

# Peak GPU memory in use (MiB, all processes) while COMMAND runs, polled every 0.5 s.
with_gpu_peak() {
  local peak_file=$WORK/gpu_peak_mib
  echo 0 >"$peak_file"
  (while :; do
     used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
     [ "${used:-0}" -gt "$(cat "$peak_file")" ] && echo "$used" >"$peak_file"
     sleep 0.5
   done) &
  local poller=$! rc=0
  "$@" || rc=$?
  kill "$poller" 2>/dev/null || true
  wait "$poller" 2>/dev/null || true
  echo "peak GPU memory in use: $(cat "$peak_file") MiB"
  return $rc
}

# ---- what this machine has ----
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
else
  gpu=""
  ((DRY)) || { echo "gpu_check: no CUDA GPU here (nvidia-smi finds none); --dry-run shows the steps" >&2; exit 1; }
  note "no GPU here (nvidia-smi finds none): the steps below are shown, not run"
fi
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
if [ ! -f "$WORK/large/model/config.json" ] && [ "$free_kib" -lt "$LARGE_NEED" ]; then
  note "only $((free_kib / 1024 / 1024)) GiB free in $WORK: the 7B-shaped checkpoint needs about $((LARGE_NEED / 1024 / 1024)) GiB"
  ((DRY)) || exit 1
fi

# ---- the build ----
if [ -x "$CLI" ]; then
  step build "ninja|no work|Linking" cmake --build "$BUILD"
else
  step setup "installed|torch" bash "$ROOT/packaging/setup.sh"
  step build "Linking|Built" env BUILD_DIR="$BUILD" bash "$ROOT/packaging/build.sh"
fi
for program in "$CLI" "$BUILD/bench/bench_forward" "$BUILD/bench/bench_tokens" "$BUILD/bench/bench_large_model" "$BUILD/bench/bench_semi_structured"; do
  if ((DRY)) && [ ! -x "$program" ]; then note "would build $program"; fi
done

# ---- the checks ----
step tests "tests passed|tests failed" ctest --test-dir "$BUILD" -L cuda --output-on-failure
step prepare-peers "." "$PY" "$ROOT/bench/bench_peers_reference.py" prepare "$PEERS" 128 8
for method in wanda sparsegpt; do
  plan=$WORK/$method-plan.json
  if ((!DRY)); then
    printf '{"method": "%s", "sparsity": 0.5, "targets": ["language_model\\\\.model\\\\.layers\\\\.\\\\d+\\\\..*"], "device": "cuda", "dtype": "bfloat16", "calibration": {"data": "%s/calibration.safetensors", "samples": 128}}\n' \
      "$method" "$PEERS" >"$plan"
    rm -rf "$WORK/$method-pruned"
  fi
  step "prune-$method" "tensors in" "$CLI" prune --plan "$plan" --model "$PEERS" --out "$WORK/$method-pruned" --device cuda --dtype bfloat16
done
step forward "ratio streamed" "$BUILD/bench/bench_forward" --device cuda --dtype bfloat16 --repeats 3
step tokens "throughput ratio" "$BUILD/bench/bench_tokens" --device cuda --dtype bfloat16 --batch 256 --repeats 5
step generate "exact_match|accuracy" "$CLI" eval "$BUILD/default-vlm" --task open --limit 200 --batch 32 --device cuda --dtype bfloat16
step prune-7b "peak GPU memory|pruned" with_gpu_peak "$BUILD/bench/bench_large_model" --dir "$WORK/large" --gib "$LARGE_GIB" \
  --method sparsegpt --samples 32 --device cuda --dtype bfloat16
step kernel-2of4 "decoder layer|cannot run" "$BUILD/bench/bench_semi_structured" --tokens 2048 --repeats 20

((DRY)) && { note "dry run: nothing was run"; exit 0; }
echo
echo "PruneStudio GPU check on ${gpu} ($(date -u +%Y-%m-%d))"
printf '%-22s %-7s %8s  %s\n' step status time figure
printf '%s\n' "${rows[@]}"
exit $failed
