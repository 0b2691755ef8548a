#!/usr/bin/env bash
# Writes python/datashard/_core.pyi, the engine module's type stubs, for tools
# that read the source tree (mypy or pyright on python/datashard, an IDE).
# Installed packages and wheels need no such step: the build generates the stub
# and installs it next to _core (python/bindings/CMakeLists.txt), and
# tests/python/test_stubs.py checks it against the module. This copy is
# git-ignored, not committed: core.cc is the one source of truth, and a
# committed copy would go stale with every new binding.
#
# Usage: pip install . && bash scripts/gen-stubs.sh
# (stubs the datashard._core that python3 imports, i.e. the installed one.)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(pwd)/python/datashard/_core.pyi"
# From an empty directory, so the module comes from the installed package.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
core=$(cd "$tmp" && python3 -c "import datashard._core as c; print(c.__file__)")
(cd "$tmp" && python3 -m nanobind.stubgen -q -m datashard._core -o "$out")
echo "wrote $out (from $core)"
