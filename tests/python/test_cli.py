"""The datashard command, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

from datashard import Table


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "datashard.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_info(filled: Table) -> None:
    r = run("info", filled.location)
    assert r.returncode == 0, r.stderr
    assert filled.location in r.stdout and "30" in r.stdout
    r = run("info", filled.location, "--json")
    info = json.loads(r.stdout)
    assert info["rows"] == 30 and info["data_files"] == 3
    assert info["current_snapshot_id"] == filled.current_snapshot().snapshot_id


def test_schema(filled: Table) -> None:
    r = run("schema", filled.location)
    assert r.returncode == 0 and "score" in r.stdout and "double" in r.stdout
    r = run("schema", filled.location, "--json")
    assert [f["name"] for f in json.loads(r.stdout)["fields"]] == ["id", "name", "score", "group"]


def test_history(filled: Table) -> None:
    r = run("history", filled.location)
    assert r.returncode == 0
    for s in filled.snapshots():
        assert str(s["snapshot_id"]) in r.stdout
    r = run("history", filled.location, "--json", "-n", "2")
    assert [s["snapshot_id"] for s in json.loads(r.stdout)] == [s["snapshot_id"] for s in filled.snapshots()[-2:]]


def test_head(filled: Table) -> None:
    r = run("head", filled.location, "-n", "4")
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 2 + 4  # header, rule, rows
    r = run("head", filled.location, "-n", "3", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"id", "name", "score", "group"}


def test_errors_and_usage(tmp_path) -> None:
    r = run("info", str(tmp_path / "missing"))
    assert r.returncode == 1
    assert r.stderr.startswith("error: ")
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2
    assert run("demo", "--processes", "0").returncode == 2


def test_demo_small() -> None:
    r = run("demo", "--processes", "2", "--commits", "20")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: PASS" in r.stdout
    assert "FAIL" not in r.stdout
    assert "commits/s" in r.stdout
