#!/usr/bin/env bash
# Installs versitygw (Apache-2.0), an S3-compatible server backed by a local
# directory, for the S3 tests (tests/python/s3_support.py). Idempotent: a
# binary already in the cache is reused. Prints the binary path as its last
# line so callers can capture it with `| tail -n1`.
#
# Built from source with `go install` because the test machines reach only the
# Go module proxy, not GitHub releases. The pinned version is the one the
# tests were verified against (conditional PUT, SigV4 with curl and pyarrow);
# DATASHARD_VERSITYGW_VERSION overrides it.
#
# Environment:
#   DATASHARD_CACHE              cache root (default $HOME/.cache/datashard)
#   DATASHARD_VERSITYGW_VERSION  module version to install (default v1.8.0)
#   GO                           go binary (default: go on PATH, else /usr/local/go/bin/go)
set -euo pipefail

version="${DATASHARD_VERSITYGW_VERSION:-v1.8.0}"
cache="${DATASHARD_CACHE:-$HOME/.cache/datashard}"
prefix="$cache/versitygw-$version"
bin="$prefix/bin/versitygw"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

go_bin="${GO:-}"
if [ -z "$go_bin" ]; then
  if command -v go >/dev/null 2>&1; then
    go_bin="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then
    go_bin=/usr/local/go/bin/go
  else
    echo "install-s3-server.sh: no Go toolchain (set GO=/path/to/go)" >&2
    exit 1
  fi
fi

mkdir -p "$prefix/bin"
# Build into a temporary GOBIN and move the binary into place only once it is
# complete, so an interrupted build never leaves a half-written binary that
# the idempotency check above would accept.
tmp_bin="$(mktemp -d "$prefix/bin.tmp.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT

echo "building versitygw $version with $("$go_bin" version) (first build takes minutes)" >&2
start=$(date +%s)
GOBIN="$tmp_bin" GOFLAGS=-mod=mod CGO_ENABLED=0 \
  "$go_bin" install "github.com/versity/versitygw/cmd/versitygw@$version" >&2
mv "$tmp_bin/versitygw" "$bin"
echo "built versitygw $version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
