"""The SIGKILL crash test (tests/crash/kill_test.py) in its short mode: up to 50 rounds or about
50 s of rounds, whichever comes first. Each round kills 3 appenders, 1 rewriter and 1 reader at
random moments and checks that the table opens, every acknowledged commit is present exactly
once, no commit is partly visible or applied twice (half the appends go through group commit),
every read the reader made showed whole commits and all those acknowledged before it, and
PyIceberg opens the current metadata. It runs once per durability mode (``process`` with a
shorter time limit). The long mode is
``python tests/crash/kill_test.py --iterations 200 [--durability process]``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import python_env

KILL_TEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "crash", "kill_test.py")
MIN_ROUNDS = 10  # on a loaded 2-core machine the time limit may stop it before 50


@pytest.mark.parametrize("durability,seconds", [("fsync", 50), ("process", 35)])
def test_sigkill_loop_short_mode(tmp_path, durability: str, seconds: int) -> None:
    # durability="process" flushes nothing, and must survive kill -9 all the same
    pytest.importorskip("pyiceberg.table")
    pytest.importorskip("fastavro")
    r = subprocess.run(
        [sys.executable, KILL_TEST, "--iterations", "50", "--time-limit", str(seconds), "--durability", durability,
         "--writers", "3", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=python_env(),
    )
    print(r.stdout[-3000:])
    summary = re.search(r"^crash: (\d+) passed, (\d+) failed$", r.stdout, re.MULTILINE)
    assert summary, (r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and r.returncode == 0, r.stdout[-5000:]
    assert passed >= MIN_ROUNDS, r.stdout[-3000:]
    assert "acknowledged commits lost: 0" in r.stdout
