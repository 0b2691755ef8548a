#!/usr/bin/env bash
# Engine interop checks: Iceberg Java, Apache Spark and DuckDB read datashard's tables, and Spark and
# datashard commit to the same table in turn (interop/README.md). scripts/test.sh runs it as a
# time-boxed stage of its own: it needs a JDK, Maven, pyspark and ~300 MB of downloads on the
# first run (cached after).
#
#   bash scripts/interop.sh                # install what is missing, build, run the suite
#   bash scripts/interop.sh -k spark -x    # extra arguments go to pytest
#
# Needs the built extension (python/datashard/_core*.so, from scripts/test.sh or the
# "Developing" steps of README.md). Versions: Iceberg 1.10.1 (interop/java/pom.xml, also for
# iceberg-spark-runtime-3.5_2.12), pyspark 3.5.8, Java 17. Caches: ~/.m2 (Maven) and
# $DATASHARD_INTEROP_CACHE (default ~/.cache/datashard-interop: a venv holding pyspark).
# The pytest run is limited to DATASHARD_INTEROP_TIMEOUT seconds (default 840).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${DATASHARD_INTEROP_CACHE:-$HOME/.cache/datashard-interop}"
pyspark_version="3.5.8"
start=$(date +%s)

step() { printf '== %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

# -- JDK 17 and Maven ----------------------------------------------------------------------------
jdk=/usr/lib/jvm/java-17-openjdk-amd64
if [[ ! -x "$jdk/bin/javac" ]] || ! command -v mvn >/dev/null; then
  step "apt-get install openjdk-17-jdk-headless maven"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven >/dev/null
fi
export JAVA_HOME="$jdk"
export PATH="$JAVA_HOME/bin:$PATH"

# -- Python: a venv over the system site-packages (pyarrow, pytest, datashard's deps) + pyspark --
python="${PYTHON:-python3}"
venv="$cache/venv"
if [[ ! -x "$venv/bin/python" ]]; then
  step "venv $venv"
  mkdir -p "$cache"
  "$python" -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
  step "pip install pyspark==$pyspark_version"
  "$venv/bin/python" -m pip install -q "pyspark==$pyspark_version"
fi
# DuckDB's Iceberg reader: its extensions come as PyPI packages of the same version as duckdb
# (loaded from the package, no download at run time); the venv's duckdb shadows the system's.
duckdb_version="1.4.4"
duckdb_ext_version="1.4.4.20260205"
if ! "$venv/bin/python" -c "import duckdb, duckdb_ext, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
  step "pip install duckdb==$duckdb_version with its iceberg and avro extensions"
  "$venv/bin/python" -m pip install -q "duckdb==$duckdb_version" "duckdb-ext-iceberg==$duckdb_ext_version" \
    "duckdb-ext-avro==$duckdb_ext_version"
fi
if ! "$venv/bin/python" -c "import pytest" 2>/dev/null; then
  "$venv/bin/python" -m pip install -q "pytest>=8"
fi
# The source tree's package when the extension was built in place (the README's Developing
# steps); otherwise the installed one (scripts/test.sh installs it with pip).
if compgen -G "$repo/python/datashard/_core*.so" >/dev/null; then
  export PYTHONPATH="$repo/python${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$venv/bin/python" -c "import datashard._core" 2>/dev/null; then
  echo "error: datashard's extension is not built (python/datashard/_core*.so): run scripts/test.sh or the README's Developing steps" >&2
  exit 1
fi

# -- the Iceberg Java reader, and iceberg-spark-runtime copied next to it --------------------------
step "mvn package (interop/java)"
mvn_log="$(mktemp)"
if ! (cd "$repo/interop/java" && mvn -q -B -T1 package) >"$mvn_log" 2>&1; then
  cat "$mvn_log" >&2
  rm -f "$mvn_log"
  echo "error: mvn package failed in interop/java" >&2
  exit 1
fi
rm -f "$mvn_log"

# -- the suite ------------------------------------------------------------------------------------
step "pytest interop/tests"
cd "$repo"
status=0
timeout --kill-after=30 "${DATASHARD_INTEROP_TIMEOUT:-840}" \
  "$venv/bin/python" -m pytest interop/tests -p no:cacheprovider -q -rfExXs "$@" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
  echo "error: the interop suite ran past ${DATASHARD_INTEROP_TIMEOUT:-840}s" >&2
fi
step "done, exit $status"
exit "$status"
