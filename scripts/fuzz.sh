#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (in scripts/sanitize.sh's build/asan:
# clang 14, ASan + UBSan + coverage) and runs each for a while.
#
#   bash scripts/fuzz.sh [seconds] [target...]   default: 30 s each, every target
#   bash scripts/fuzz.sh --regenerate-corpus     rewrite fuzz/corpus/ from fresh tables
#
# Seeds are read from fuzz/corpus/<target>/ (committed, small); what a run
# discovers goes to build/fuzz-corpus/<target>/ and is kept between runs. A
# crash, leak, timeout or out-of-memory input is saved as
# build/fuzz-crashes/<target>-<kind>-<sha1> and fails the script. Replay one
# with  build/asan/fuzz/<target>_fuzzer <file>;  to keep it as a regression
# input (replayed by scripts/sanitize.sh), copy it to
# fuzz/crashes/<target>-<what-it-shows> and list it in fuzz/crashes/README.md.
# Environment: FUZZ_JOBS (parallel targets, default 1), FUZZ_RSS_MB (2048),
# FUZZ_KEEP_GOING=1 (long campaigns: libFuzzer's fork mode, which saves each
# crash and carries on instead of stopping at the first), FUZZ_CRASH_DIR
# (where reproducers go, default build/fuzz-crashes), FUZZ_SEED (a fixed
# libFuzzer seed: CI's short run mutates the same way every time).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --regenerate-corpus ]; then
  bash scripts/sanitize.sh build-asan generate_corpus
  rm -rf fuzz/corpus
  ARROW_DEFAULT_MEMORY_POOL=system ASAN_OPTIONS=detect_leaks=0 build/asan/fuzz/generate_corpus fuzz/corpus
  du -sh fuzz/corpus
  for d in fuzz/corpus/*; do echo "  $(basename "$d"): $(ls "$d" | wc -l) files"; done
  exit 0
fi

seconds="${1:-30}"
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(metadata_json manifest manifest_list avro_container version_hint parquet intent written_file)
fi
jobs="${FUZZ_JOBS:-1}"

build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzzer"); done
bash scripts/sanitize.sh build-asan "${build_targets[@]}"

export ARROW_DEFAULT_MEMORY_POOL=system   # Arrow's allocations visible to ASan and -malloc_limit_mb
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/testing/lsan.supp:print_suppressions=0"
crash_dir="${FUZZ_CRASH_DIR:-build/fuzz-crashes}"
mkdir -p "$crash_dir" build/fuzz-corpus

run_target() {  # target -> writes build/fuzz-corpus/<target>.log
  local t="$1" log="build/fuzz-corpus/$1.log"
  local binary="build/asan/fuzz/${t}_fuzzer" dict=()
  mkdir -p "build/fuzz-corpus/$t"
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  local mode=()
  [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  [ -n "${FUZZ_SEED:-}" ] && mode+=(-seed="$FUZZ_SEED")
  # -timeout: a single input running this long is a hang; -malloc_limit_mb:
  # one allocation this large is a bug (inputs are small; nothing justifies it).
  timeout $((seconds + 120)) "$binary" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -malloc_limit_mb=512 -print_final_stats=1 \
    -artifact_prefix="$crash_dir/$t-" "${dict[@]}" "${mode[@]}" \
    "build/fuzz-corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
}

status=0
summary=()
before="$(ls "$crash_dir" 2>/dev/null || true)"
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

total=0
crashes_total=0
for t in "${targets[@]}"; do
  log="build/fuzz-corpus/$t.log"
  execs=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  # Fork mode prints no final stats: take the last "#<execs>" status line.
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  execs=${execs:-0}
  rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  [ -n "$rate" ] || rate=$((execs / (seconds > 0 ? seconds : 1)))
  cov=$(grep -oE '^#[0-9]+:?[[:space:]]+(DONE[[:space:]]+)?cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || echo "?")
  corpus=$(ls "build/fuzz-corpus/$t" | wc -l)
  total=$((total + execs))
  # New reproducers in $crash_dir are the findings (crash, leak, timeout, oom).
  new_crashes=$(comm -13 <(echo "$before" | sort) <(ls "$crash_dir" 2>/dev/null | sort) | grep -c "^$t-" || true)
  crashes_total=$((crashes_total + new_crashes))
  if [ "$new_crashes" -gt 0 ] || { [ "${FUZZ_KEEP_GOING:-0}" != 1 ] && ! grep -q 'DONE' "$log"; }; then
    grep -E -A12 'ERROR: |runtime error|deadly signal|returned invalid' "$log" | grep -vE '^ +#[0-9]+ 0x.* in fuzzer::' | head -30 || true
    comm -13 <(echo "$before" | sort) <(ls "$crash_dir" 2>/dev/null | sort) | grep "^$t-" | sed "s|^|  reproducer: $crash_dir/|" || true
    summary+=("fuzz: $t: $execs execs, $new_crashes new reproducers: FAILED (log: $log)")
    status=1
  else
    summary+=("fuzz: $t: $execs execs in ${seconds} s ($rate exec/s), cov $cov, corpus $corpus, 0 crashes")
  fi
done
printf '%s\n' "${summary[@]}"
echo "fuzz: ${#targets[@]} targets, $total executions, $crashes_total crashes"
exit "$status"
