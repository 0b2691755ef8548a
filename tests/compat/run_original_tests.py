"""Runs the original package's own test suite, unchanged, against the installed datashard.

The original pure-Python ``datashard`` 0.11.2 ships its tests in its sdist on PyPI. This
script downloads that sdist once (cached, checked against a pinned SHA-256), unpacks its
``tests/`` folder into a temporary directory, runs pytest there (so the *installed* datashard
is what the tests import), and compares each outcome with two lists kept beside this file:

- ``original-passes.txt``: the tests the original itself passes (``--baseline`` regenerates
  it by installing datashard==0.11.2 into a virtual environment and running the same tests);
- ``exceptions.txt``: the tests of that list we do not pass, each with its reason
  (``docs/compatibility.md`` explains them). A line ``tests/test_x.py::*`` covers a file;
  any other line is one exact test id.

It prints a table per file and exits non-zero when a test the original passes fails here
without being listed, so the list stays honest; a listed test that passes now is reported
so that its line can be removed.

Usage: python3 tests/compat/run_original_tests.py [--baseline] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDIST = "datashard-0.11.2.tar.gz"
SDIST_SHA256 = "fba3a8d9e9c2fb258041bd35845922991d222103b49784f636e0c8b96866e36e"
# test_main.py imports a module (clear_demo) the sdist does not ship: it cannot be collected,
# for the original either.
IGNORED_FILES = ["tests/test_main.py"]
# What the original's tests need besides pytest; the baseline environment installs them too.
BASELINE_DEPS = ["datashard==0.11.2", "pytest", "pandas", "fastavro", "duckdb", "pyiceberg"]


def cache_dir() -> Path:
    root = os.environ.get("DATASHARD_COMPAT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "datashard-compat"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_sdist() -> Path:
    cached = cache_dir() / SDIST
    if not cached.exists() or sha256(cached) != SDIST_SHA256:
        with tempfile.TemporaryDirectory() as download:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                 "--no-binary", ":all:", "datashard==0.11.2", "-d", download],
                check=True,
            )
            shutil.copy(Path(download) / SDIST, cached)
    found = sha256(cached)
    if found != SDIST_SHA256:
        sys.exit(f"compat: {cached} has SHA-256 {found}, expected {SDIST_SHA256}")
    return cached


def unpack_tests(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("datashard-0.11.2/tests/")]
        tar.extractall(into, members=members, filter="data")
    return into / "datashard-0.11.2"


def run_pytest(python: str, root: Path) -> dict[str, str]:
    """{test id: passed | failed | error | skipped} for the sdist's tests run from ``root``."""
    report = root / "report.xml"
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               f"--junitxml={report}", "-o", "junit_family=xunit1", "tests"]
    command += [f"--ignore={f}" for f in IGNORED_FILES]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=1500)
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        classname = case.get("classname", "")
        name = case.get("name", "")
        parts = classname.split(".")
        # xunit1 classname: tests.test_x or tests.test_x.TestClass
        if parts and parts[-1][:1].isupper():
            test_id = f"{'/'.join(parts[:-1])}.py::{parts[-1]}::{name}"
        else:
            test_id = f"{'/'.join(parts)}.py::{name}"
        if not classname:  # a collection error: the whole file
            test_id = module
        if case.find("error") is not None:
            outcome = "error"
        elif case.find("failure") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes[test_id] = outcome
    return outcomes


def read_list(path: Path) -> list[tuple[str, str]]:
    """Lines ``id`` or ``id  # reason``; blank lines and ``#`` comments skipped."""
    entries = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition("#")
        entries.append((test_id.strip(), reason.strip()))
    return entries


def baseline(root: Path) -> None:
    env_dir = root / "venv-original"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *BASELINE_DEPS],
                   check=True)
    outcomes = run_pytest(python, root)
    passed = sorted(t for t, o in outcomes.items() if o == "passed")
    (HERE / "original-passes.txt").write_text("\n".join(passed) + "\n")
    print(f"compat: the original passes {len(passed)} of {len(outcomes)} tests; wrote original-passes.txt")


def compare(root: Path) -> int:
    outcomes = run_pytest(sys.executable, root)
    original = [t for t, _ in read_list(HERE / "original-passes.txt")]
    exceptions = read_list(HERE / "exceptions.txt")

    exact = dict(exceptions)
    whole_files = {p[: -len("::*")]: r for p, r in exceptions if p.endswith("::*")}

    def listed(test_id: str) -> str | None:
        reason = exact.get(test_id, whole_files.get(test_id.split("::")[0]))
        return None if reason is None else reason or "(no reason given)"

    per_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    unexpected, stale = [], []
    for test_id in original:
        file = test_id.split("::")[0]
        outcome = outcomes.get(test_id) or ("not collected" if outcomes.get(file) == "error" else "not run")
        reason = listed(test_id)
        if outcome == "passed":
            per_file[file]["passed"] += 1
            if test_id in exact:
                stale.append(test_id)
        elif reason is not None:
            per_file[file]["excepted"] += 1
        else:
            per_file[file]["failed"] += 1
            unexpected.append(f"{test_id}: {outcome}")
    width = max(len(f) for f in per_file)
    print(f"{'file':{width}}  passed  excepted  failed   (of the tests the original 0.11.2 passes)")
    for file in sorted(per_file):
        c = per_file[file]
        print(f"{file:{width}}  {c['passed']:6}  {c['excepted']:8}  {c['failed']:6}")
    total = collections.Counter()
    for c in per_file.values():
        total.update(c)
    print(f"compat: {total['passed']} of {len(original)} tests the original passes pass here; "
          f"{total['excepted']} listed as exceptions (tests/compat/exceptions.txt), {total['failed']} unexpected")
    for test_id in stale:
        print(f"compat: listed as an exception but passes now (remove its line): {test_id}")
    for line in unexpected:
        print(f"compat: FAILED {line}")
    print(f"compat: {total['passed']} passed, {total['failed']} failed")
    return 1 if unexpected else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", action="store_true", help="regenerate original-passes.txt with the original")
    parser.add_argument("--keep", type=Path, help="unpack and run in DIR and keep it (for reading failures)")
    args = parser.parse_args()
    sdist = fetch_sdist()
    work = args.keep or Path(tempfile.mkdtemp(prefix="datashard-compat-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        root = unpack_tests(sdist, work)
        if args.baseline:
            baseline(root)
            return 0
        return compare(root)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
