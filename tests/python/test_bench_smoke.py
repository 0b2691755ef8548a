"""The benchmark suite's quick mode still runs every workload (a smoke test, not a benchmark).

Runs ``bench/run.py --quick --systems datashard,pyarrow``: both systems run on this
interpreter (no virtual environment, no network), on tiny sizes. Checks that every workload
produced figures, that every correctness check inside the suite passed (rows read back,
row counts of scans and time travel), and that the markdown report was written. The figures
themselves are not checked: CI machines are not benchmark machines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "bench" / "run.py"


@pytest.mark.skipif(not RUNNER.exists(), reason="bench/ is not in this tree")
def test_quick_benchmark_runs_every_workload(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    cmd = [sys.executable, str(RUNNER), "--quick", "--systems", "datashard,pyarrow", "--no-charts",
           "--out", str(out), "--work-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    res = json.loads((out / "results.json").read_text())
    assert res["systems"]["datashard"]["available"], res["systems"]["datashard"]
    assert res["systems"]["pyarrow"]["available"]
    wl = res["workloads"]
    assert "_errors" not in wl, wl.get("_errors")

    for key, per in wl["commits"].items():
        for system in ("datashard", "pyarrow"):
            s = per[system]["summary"]
            assert s["committed"] == s["attempted"] > 0, (key, system, s)
            assert s["errors"] == 0 and s["acked_missing"] == 0 and s["duplicates"] == 0, (key, system, s)
            assert s["rows_read_back"] == s["committed"], (key, system, s)
    for system in ("datashard", "pyarrow"):
        assert wl["bulk"][system]["summary"]["rows_per_s"] > 0
        for case in ("full_cold", "full_warm", "filtered_cold", "filtered_warm"):
            assert wl["scan"][system]["summary"][case]["error"] is None, (system, case)
        assert wl["memory"][system]["summary"]["peak_rss_mb"] > 0
        for h, x in wl["history"][system]["summary"].items():
            assert x.get("p50_ms") is not None and x["errors"] == 0, (system, h, x)
        for q in ("or_ranges_cold", "or_ranges_warm", "point_cold", "point_warm"):
            x = wl["lookup"][system][q]
            assert x["ok"] and x["rows"] == x["expected_rows"], (system, q, x)
    cold = wl["cold"]["datashard"]
    assert cold["ok"] and len(cold["wall_ms"]) > 0, cold  # every row read back, no process failed
    assert cold["readback"]["acked_missing"] == 0 and cold["readback"]["duplicates"] == 0, cold
    assert "pyarrow-dsfiles" in wl["scan"], "pyarrow must also read datashard's own files"
    for h, x in wl["timetravel"]["datashard"]["summary"].items():
        assert x.get("ms") is not None, (h, x)  # the row count of the old version was checked

    md = (out / "results.md").read_text()
    for title in ("Small concurrent commits", "One commit from a fresh process", "Bulk append", "filtered scan",
                  "Selective lookups", "Commit latency", "Time travel", "streaming scan"):
        assert title in md
    assert "n/a: plain Parquet files have no versions" in md
