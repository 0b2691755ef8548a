#!/usr/bin/env bash
# Installs the wheel that scripts/wheel.sh left in dist/ into a fresh virtual
# environment (no system site-packages; pyarrow comes from PyPI as a
# dependency) and checks it as a user without a compiler would have it:
#   - ldd of the installed extension finds every library, pyarrow's through
#     the RPATH $ORIGIN/../pyarrow and the rest inside the wheel;
#   - `import datashard._core` comes from the venv, not from this source tree;
#   - the `datashard` command runs the concurrent demo (4 processes x 50 commits);
#   - the tests marked `smoke` in tests/python pass, run from tests/.
# Everything runs under `env -i` with a PATH of the venv and /usr/bin:/bin only,
# so no LD_LIBRARY_PATH, PYTHONPATH or build tooling from this shell leaks in.
#
# Usage: bash scripts/wheel-test.sh [extra pytest args]
#   DATASHARD_WHEEL_VENV=/tmp/ds-wheel-venv   where the venv goes (made anew each run)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
venv="${DATASHARD_WHEEL_VENV:-/tmp/ds-wheel-venv}"

wheel=(dist/datashard-*.whl)
[ -f "${wheel[0]}" ] || { echo "no dist/datashard-*.whl: run scripts/wheel.sh first" >&2; exit 1; }
[ ${#wheel[@]} -eq 1 ] || { echo "more than one wheel in dist/: ${wheel[*]}" >&2; exit 1; }

rm -rf "$venv"
python3 -m venv "$venv"
clean=(env -i "PATH=$venv/bin:/usr/bin:/bin" "HOME=$HOME" "LANG=C.UTF-8")
[ -n "${PIP_CACHE_DIR:-}" ] && clean+=("PIP_CACHE_DIR=$PIP_CACHE_DIR")
# pip's cache (~/.cache/pip) keeps the pyarrow download for the next run.
"${clean[@]}" python -m pip install -q --disable-pip-version-check "${root}/${wheel[0]}" "pytest>=8"

echo "-- installed: $("${clean[@]}" python -m pip list --disable-pip-version-check 2>/dev/null |
  awk '$1 ~ /^(datashard|pyarrow|pytest)$/ {printf "%s %s  ", $1, $2}')"

# The extension and where each library it needs resolves.
core=$("${clean[@]}" python -c "import pyarrow, datashard._core as c; print(c.__file__)")
case "$core" in
  "$venv"/*) ;;
  *) echo "datashard._core was imported from $core, not from $venv" >&2; exit 1 ;;
esac
echo "-- ldd $core"
ldd_out=$("${clean[@]}" ldd "$core")
echo "$ldd_out" | sed 's/ (0x[0-9a-f]*)$//; s/^\t/  /'
if echo "$ldd_out" | grep -q "not found"; then
  echo "unresolved libraries above" >&2
  exit 1
fi
pyarrow_dir=$("${clean[@]}" python -c "import os, pyarrow; print(os.path.realpath(os.path.dirname(pyarrow.__file__)))")
# Every libarrow*/libparquet* must come from the venv's pyarrow, not the wheel or the system.
echo "$ldd_out" | awk '/lib(arrow|parquet)/ {print $3}' | while read -r lib; do
  case "$(realpath "$lib")" in
    "$pyarrow_dir"/*) ;;
    *) echo "$lib does not resolve into the venv's pyarrow ($pyarrow_dir)" >&2; exit 1 ;;
  esac
done
# Everything else must be what auditwheel bundled, or in the manylinux baseline
# (glibc, libstdc++, libgcc_s, zlib), which every Linux has and no wheel bundles.
echo "$ldd_out" | awk '$3 ~ /^\// {print $1, $3}' | while read -r soname lib; do
  case "$(realpath "$lib")" in "$venv"/*) continue ;; esac
  case "$soname" in
    libc.so.6|libm.so.6|libdl.so.2|librt.so.1|libpthread.so.0|libresolv.so.2|libstdc++.so.6|libgcc_s.so.1|libz.so.1) ;;
    *) echo "$soname resolves to $lib, outside the venv and the manylinux baseline" >&2; exit 1 ;;
  esac
done
[ -f "$(dirname "$core")/_core.pyi" ] && [ -f "$(dirname "$core")/py.typed" ] ||
  { echo "the installed package lacks _core.pyi or py.typed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "-- datashard demo --processes 4 --commits 50"
(cd "$work" && "${clean[@]}" datashard demo --processes 4 --commits 50)

# The files holding smoke tests: collecting only these keeps the optional
# packages other test modules import (pandas, polars, hypothesis...) out of the venv.
mapfile -t files < <(cd tests && grep -l "pytest.mark.smoke" python/test_*.py)
echo "-- pytest -m smoke (${#files[@]} files), from tests/"
cd tests
"${clean[@]}" python -m pytest -q -p no:cacheprovider -m smoke "${files[@]}" "$@"
