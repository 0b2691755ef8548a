#!/usr/bin/env bash
# Type-checks the Python package with mypy, strict ([tool.mypy] in pyproject.toml; the Ray,
# PyTorch and demo modules relax what their untyped optional dependencies force).
#
# The engine module's stub, python/datashard/_core.pyi, is generated, not committed
# (scripts/gen-stubs.sh after `pip install .`); with it, calls into the engine are checked
# too. Without it this script stands in a stub that types every engine name as Any, for the
# length of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check "mypy==2.4.1"
stub=python/datashard/_core.pyi
if [ ! -f "$stub" ]; then
  echo "typecheck: no $stub (scripts/gen-stubs.sh writes it): the engine module is typed as Any"
  printf 'from typing import Any\n\ndef __getattr__(name: str) -> Any: ...\n' >"$stub"
  trap 'rm -f "$stub"' EXIT
fi
# No cache: whether the stub above is the generated one or the stand-in changes the results.
python3 -m mypy --cache-dir=/dev/null
