#!/usr/bin/env bash
# Sanitizer builds of the C++ tests (clang 14 from Debian), then runs them:
#
#   build/asan   -fsanitize=address,undefined: every GoogleTest binary (ctest),
#                including the crash/fault sweeps, then the fuzz corpora replayed
#                through the fuzz targets. The same build carries libFuzzer's
#                coverage instrumentation (-fsanitize=fuzzer-no-link), so
#                scripts/fuzz.sh fuzzes with it instead of building again.
#   build/tsan   -fsanitize=thread: the concurrency tests (commit_test, io_test) and
#                table_test (its data files are encoded on Arrow's thread pool)
#
#   bash scripts/sanitize.sh [asan|tsan|all]     (default: all)
#   bash scripts/sanitize.sh build-asan [targets...]   build only (used by fuzz.sh)
#
# The test binaries link libarrow/libparquet from the pyarrow wheel, which is
# not instrumented. The sanitizer runtimes are linked statically into each test
# executable (clang's default), so no LD_PRELOAD is needed, and Arrow's
# allocations are routed through malloc (ARROW_DEFAULT_MEMORY_POOL=system) so
# ASan and LSan see them. TSan cannot see synchronisation inside the
# uninstrumented Arrow libraries; testing/tsan.supp lists what that hides.
# Environment: SANITIZE_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
jobs="${SANITIZE_JOBS:-2}"

need_apt=()
command -v clang++-14 >/dev/null 2>&1 || need_apt+=(clang-14)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need_apt+=(libclang-rt-14-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

export ARROW_DEFAULT_MEMORY_POOL=system
status=0

configure() {  # build_dir, sanitizer flags, extra cmake args...
  local dir="$1" flags="$2"
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
    -DDATASHARD_BUILD_TESTS=ON -DDATASHARD_BUILD_PYTHON=OFF "$@" >/dev/null
}

fuzz_opt=OFF
[ -f fuzz/CMakeLists.txt ] && fuzz_opt=ON

build_asan() {  # [targets...]
  echo "== ASan + UBSan: build (build/asan) =="
  local start=$SECONDS
  # vptr checks need the RTTI of every polymorphic type, and Arrow's come from
  # an uninstrumented library built by another compiler: left out.
  configure build/asan \
    "-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all -fsanitize=fuzzer-no-link" \
    -DDATASHARD_BUILD_FUZZERS="$fuzz_opt"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  if ! cmake --build build/asan -j"$jobs" "${targets[@]}" >build/asan/build.log 2>&1; then
    grep -E -B2 -A12 'error|FAILED' build/asan/build.log | head -80
    echo "ASan build failed (log: build/asan/build.log)"
    exit 1
  fi
  echo "built in $((SECONDS - start)) s"
}

if [ "$what" = build-asan ]; then
  shift
  build_asan "$@"
  exit 0
fi

if [ "$what" = all ] || [ "$what" = asan ]; then
  build_asan
  echo "== ASan + UBSan: ctest =="
  start=$SECONDS
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$(pwd)/testing/lsan.supp:print_suppressions=0"
  if ! ctest --test-dir build/asan --output-on-failure -j"$jobs"; then status=1; fi
  # Tell sanitizer reports apart from ordinary test failures (e.g. the crash
  # sweeps' invariant violations, which ctest in build/ci reports as well).
  reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
            build/asan/Testing/Temporary/LastTest.log 2>/dev/null || true)
  echo "ASan + UBSan: ${reports:-0} sanitizer reports"
  # Replay every corpus file and every saved reproducer through its fuzz
  # target (no mutation): the regression half of fuzzing, under ASan + UBSan.
  # Reproducers run one by one so that each still-open finding is listed.
  if [ "$fuzz_opt" = ON ]; then
    replay=(-runs=0 -rss_limit_mb=2048 -malloc_limit_mb=512)
    for target in build/asan/fuzz/*_fuzzer; do
      [ -x "$target" ] || continue
      name="$(basename "$target")"
      t="${name%_fuzzer}"
      if [ -d "fuzz/corpus/$t" ]; then
        if "$target" "${replay[@]}" "fuzz/corpus/$t" >"build/asan/$name.replay.log" 2>&1; then
          echo "replayed $(ls "fuzz/corpus/$t" | wc -l) corpus inputs through $name: clean"
        else
          grep -E -A20 'ERROR|runtime error' "build/asan/$name.replay.log" | head -30
          echo "replay of fuzz/corpus/$t through $name FAILED"
          status=1
        fi
      fi
      for f in fuzz/crashes/"$t"-*; do
        [ -f "$f" ] || continue
        if "$target" "${replay[@]}" "$f" >"build/asan/$name.repro.log" 2>&1; then
          echo "reproducer $f: passes (kept as a regression input)"
        else
          why=$(grep -oE 'runtime error: .*|ERROR: [A-Za-z]+Sanitizer: [^(]*|returned invalid data: .{0,100}|out-of-memory \(malloc\([0-9]+\)\)|[a-z_]+_fuzzer\.cc:[0-9]+' \
                "build/asan/$name.repro.log" | head -1)
          echo "reproducer $f: still fails (${why:-see build/asan/$name.repro.log})"
          status=1
        fi
      done
    done
  fi
  echo "ran in $((SECONDS - start)) s"
fi

if [ "$what" = all ] || [ "$what" = tsan ]; then
  echo "== TSan: build (build/tsan: commit_test, io_test, table_test) =="
  start=$SECONDS
  configure build/tsan "-fsanitize=thread"
  if ! cmake --build build/tsan -j"$jobs" --target commit_test io_test table_test >build/tsan/build.log 2>&1; then
    grep -E -B2 -A12 'error|FAILED' build/tsan/build.log | head -80
    echo "TSan build failed (log: build/tsan/build.log)"
    exit 1
  fi
  echo "built in $((SECONDS - start)) s"
  echo "== TSan: run =="
  start=$SECONDS
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$(pwd)/testing/tsan.supp"
  for test in commit_test io_test table_test; do
    if "build/tsan/src/$test" >"build/tsan/$test.log" 2>&1; then
      echo "$test: $(grep -E '^\[  PASSED  \]' "build/tsan/$test.log"), no data races"
    else
      grep -E -A30 'WARNING: ThreadSanitizer|FAILED' "build/tsan/$test.log" | head -80
      echo "$test under TSan FAILED (log: build/tsan/$test.log)"
      status=1
    fi
  done
  echo "ran in $((SECONDS - start)) s"
fi

exit "$status"
