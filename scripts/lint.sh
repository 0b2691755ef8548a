#!/usr/bin/env bash
# Static checks: the Python package's import layering (scripts/check_imports.py)
# and types (scripts/typecheck.sh, mypy), clang-format (every C++ file must
# match .clang-format) and clang-tidy (the checks in .clang-tidy, over the
# compile_commands.json of a configure-only build dir). Exits non-zero on any
# finding.
#
#   bash scripts/lint.sh            all
#   bash scripts/lint.sh python     the Python checks only
#   bash scripts/lint.sh format     clang-format only
#   bash scripts/lint.sh tidy       clang-tidy only
#
# To apply the formatting instead of checking it:
#   git ls-files '*.cc' '*.h' | xargs clang-format-14 -i
# Environment: LINT_BUILD_DIR (default build/tidy), LINT_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
build_dir="${LINT_BUILD_DIR:-build/tidy}"
jobs="${LINT_JOBS:-2}"
status=0

if [ "$what" = all ] || [ "$what" = python ]; then
  # The package imports one way: leaf helpers -> value types -> operations -> Table -> integrations.
  echo "== Python import layering (scripts/check_imports.py) =="
  python3 scripts/check_imports.py || status=1
  echo "== Python types (scripts/typecheck.sh: mypy, strict) =="
  bash scripts/typecheck.sh || status=1
  [ "$what" = python ] && exit "$status"
fi

need_apt=()
for tool in clang-format-14 clang-tidy-14 clang-14; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Every C++ source git knows about, tracked or new (ignored files excluded).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' '*.cpp' '*.hpp' |
                         while read -r f; do [ -f "$f" ] && echo "$f"; done)
else  # an exported tree without .git
  mapfile -t sources < <(find include src testing tests fuzz python bench \( -name '*.cc' -o -name '*.h' \) \
                         -type f 2>/dev/null | sort)
fi

if [ "$what" = all ] || [ "$what" = format ]; then
  echo "== clang-format-14 (${#sources[@]} files) =="
  format_log="$(mktemp)"
  clang-format-14 --dry-run --Werror "${sources[@]}" >"$format_log" 2>&1 || true
  # One "file:line:col: error: code should be clang-formatted" per place.
  grep -E '^[^ :]+:[0-9]+:[0-9]+: (error|warning): code should be clang-formatted' "$format_log" |
    cut -d: -f1 >"$format_log.places" || true
  lines=$(wc -l <"$format_log.places")
  files=$(sort -u "$format_log.places" | wc -l)
  if [ "$lines" -gt 0 ]; then
    sort "$format_log.places" | uniq -c | sort -rn | sed 's/^/  /'
    echo "clang-format: $lines places in $files files differ from .clang-format"
    echo "  fix with: clang-format-14 -i <files above>"
    status=1
  else
    echo "clang-format: clean"
  fi
  rm -f "$format_log" "$format_log.places"
fi

if [ "$what" = all ] || [ "$what" = tidy ]; then
  echo "== clang-tidy-14 (compile database: $build_dir) =="
  # Configure only: clang-tidy needs compile_commands.json, not objects. The
  # bindings join the database when nanobind is installed.
  python_opt=OFF
  python3 -c "import nanobind" >/dev/null 2>&1 && python_opt=ON
  CXX="${CXX:-clang++-14}" cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DDATASHARD_BUILD_TESTS=ON -DDATASHARD_BUILD_PYTHON="$python_opt" -DDATASHARD_BUILD_FUZZERS=ON >/dev/null
  tidy_log="$(mktemp)"
  # Our sources only (the database also lists nothing else, but be explicit).
  # run-clang-tidy colours its output; strip the escapes before parsing.
  run-clang-tidy-14 -p "$build_dir" -j "$jobs" -quiet \
    "$(pwd)/(src|testing|tests|fuzz|python/bindings|bench)/" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$tidy_log" || true
  # A finding is a "file:line:col: warning|error: ... [check]" line; the same
  # header finding reported from several translation units counts once.
  grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): .*\[[a-z0-9.,-]+\]$' "$tidy_log" | sort -u >"$tidy_log.findings" || true
  count=$(wc -l <"$tidy_log.findings")
  if [ "$count" -gt 0 ]; then
    sed "s|$(pwd)/||" "$tidy_log.findings"
    echo
    echo "by check:"
    grep -oE '\[[a-z0-9.,-]+\]$' "$tidy_log.findings" | sort | uniq -c | sort -rn | sed 's/^/  /'
    echo "clang-tidy: $count findings"
    status=1
  elif grep -qE '(error|Error)' "$tidy_log" && ! grep -qE '^/.*: (warning|error):' "$tidy_log"; then
    tail -20 "$tidy_log"
    echo "clang-tidy: failed to run"
    status=1
  else
    echo "clang-tidy: clean"
  fi
  rm -f "$tidy_log" "$tidy_log.findings"
fi

exit "$status"
