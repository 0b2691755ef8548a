#!/usr/bin/env bash
# Set-up command 1: install datashard and run the main job, the honest
# concurrent-writers demo (12 processes x 1,000 commits by default; pass
# other options through, e.g. --processes 12 --commits 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
python3 -m pip install -q --disable-pip-version-check --no-build-isolation .
if [ $# -eq 0 ]; then set -- --processes 12 --commits 1000; fi
exec datashard demo "$@"
