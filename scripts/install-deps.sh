#!/usr/bin/env bash
# Installs what building and testing datashard needs on a fresh Debian 12
# machine: C++ libraries from Debian, Python packages from PyPI. Idempotent.
set -euo pipefail

need_apt=()
# clang-14 + libclang-rt-14-dev: sanitizer builds and libFuzzer (scripts/sanitize.sh, scripts/fuzz.sh).
for pkg in curl cmake ninja-build g++ nlohmann-json3-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libgtest-dev clang-14 libclang-rt-14-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check \
  "pyarrow>=26,<27" "nanobind>=2.4" "scikit-build-core>=1.1.2" "$@"
