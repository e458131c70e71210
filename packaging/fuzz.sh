#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with ASan + UBSan) into build-fuzz/ and fuzzes
# each for FUZZ_SECONDS (default 20), starting from the seeds in tests/data/fuzz/<kind>/, as many
# at once as there are cores. Prints each target's executions per second and corpus size; exits
# non-zero on any crash, leak, timeout or sanitizer report (the reproducer is left in
# build-fuzz/crashes/). Needs the default model (build/default-model) for the tokenizer target:
# run after packaging/build.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR="$ROOT/build-fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-20}
KINDS=(safetensors gguf config tokenizer image image_config run_score vqa_file llava_conversations inputs_file token_options)
CXX=clang++ cmake -S "$ROOT/tests/fuzz" -B "$DIR" -G Ninja -DPS_TOKENIZER_DIR="$ROOT/build/default-model" >/dev/null
cmake --build "$DIR" -j "$(nproc)"
mkdir -p "$DIR/crashes"

fuzz() {  # one target; its log in build-fuzz/fuzz_<kind>.log, its exit status in .status
  local kind=$1 corpus="$DIR/corpus/$1" rc=0
  mkdir -p "$corpus"
  "$DIR/fuzz_$kind" "$corpus" "$ROOT/tests/data/fuzz/$kind" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$DIR/crashes/$kind-" >"$DIR/fuzz_$kind.log" 2>&1 || rc=$?
  echo $rc >"$DIR/fuzz_$kind.status"
}
for kind in "${KINDS[@]}"; do
  while (( $(jobs -rp | wc -l) >= $(nproc) )); do wait -n || true; done
  fuzz "$kind" &
done
wait

status=0
for kind in "${KINDS[@]}"; do
  log="$DIR/fuzz_$kind.log"
  if [[ $(cat "$DIR/fuzz_$kind.status") != 0 ]]; then
    echo "[fuzz] fuzz_$kind FAILED:"; tail -40 "$log"; status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log"); rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "[fuzz] fuzz_$kind: ${runs:-?} runs in ${SECONDS_EACH} s (${rate:-?}/s), corpus $(ls "$DIR/corpus/$kind" | wc -l) files"
done
exit $status
