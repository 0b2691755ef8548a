"""Helpers of the engine interop suite (run by scripts/interop.sh, not by the main pytest run).

Iceberg Java reads datashard's tables through ``interop/java``'s ``ReadTable`` (built by
``mvn package``: ``target/classes`` + ``target/classpath.txt``), and pyspark reads and writes
them with ``iceberg-spark-runtime`` (copied by the same build into ``target/spark-jars``).
Everything missing is an error, not a skip: this suite exists only to run those engines.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datashard import Table

REPO = Path(__file__).resolve().parents[2]
JAVA_DIR = REPO / "interop" / "java"
CLASSES = JAVA_DIR / "target" / "classes"
CLASSPATH_FILE = JAVA_DIR / "target" / "classpath.txt"
SPARK_RUNTIME_JAR = JAVA_DIR / "target" / "spark-jars" / "iceberg-spark-runtime-3.5_2.12.jar"


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def java_read(metadata_location: str, sum_column: str, where: tuple[str, str, Any] | None = None) -> dict:
    """Run ReadTable on one metadata file; its JSON report (see ReadTable.java)."""
    if not (CLASSES / "ReadTable.class").exists() or not CLASSPATH_FILE.exists():
        pytest.fail(f"{CLASSES}/ReadTable.class or {CLASSPATH_FILE} missing: run scripts/interop.sh (mvn package)")
    cp = f"{CLASSES}:{CLASSPATH_FILE.read_text().strip()}"
    cmd = [_java(), "-Xmx512m", "-XX:TieredStopAtLevel=1", "-cp", cp, "ReadTable", metadata_location, sum_column]
    if where is not None:
        cmd += [str(x) for x in where]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(
            f"Iceberg Java failed on {metadata_location} (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
        )
    return json.loads(proc.stdout)


def ours(t: Table, snapshot_id: int, sum_column: str, where: tuple[str, str, Any] | None = None) -> dict:
    """What datashard's own time-travel read of one snapshot gives, in ReadTable's terms."""
    data = t.to_arrow(snapshot_id=snapshot_id)
    out: dict[str, Any] = {"rows": data.num_rows, "columns": data.column_names}
    if sum_column in data.column_names:
        col = data[sum_column]
        out["non_null"] = col.length() - col.null_count
        s = pc.sum(col).as_py()
        out["sum"] = 0 if s is None else s
    else:
        out["sum"] = out["non_null"] = None
    if where is not None:
        name, op, value = where
        if name not in data.column_names:
            out["filtered_rows"] = None
        else:
            out["filtered_rows"] = len(t.to_arrow(snapshot_id=snapshot_id, filter=[(name, op, value)], columns=[name]))
    return out


def same_number(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def check_java_agrees(
    t: Table, sum_column: str, where: tuple[str, str, Any] | None = None, metadata_location: str | None = None
) -> dict:
    """Iceberg Java reads every snapshot of ``t``'s current metadata file (or of
    ``metadata_location``) and gets the rows, sum and filtered count datashard's time travel
    gets; both list the same snapshots and refs. Returns Java's report."""
    t.refresh()
    location = metadata_location or t.metadata_location
    java = java_read(location, sum_column, where)
    assert java["format_version"] == 2
    if metadata_location is None:
        cur = t.current_snapshot()
        assert java["current_snapshot_id"] == (cur.snapshot_id if cur else None)
        assert sorted(s["snapshot_id"] for s in java["snapshots"]) == sorted(s["snapshot_id"] for s in t.snapshots())
        assert {k: (v["type"], v["snapshot_id"]) for k, v in java["refs"].items()} == {
            k: (v["type"], v["snapshot_id"]) for k, v in t.refs().items()
        }
    schema_ids = {s["snapshot_id"]: s["schema_id"] for s in java["snapshots"]}
    for snap in java["snapshots"]:
        sid = snap["snapshot_id"]
        mine = ours(t, sid, sum_column, where)
        ctx = f"snapshot {sid} ({snap['operation']}) of {location}: java={snap} datashard={mine}"
        assert snap["rows"] == mine["rows"] == t.row_count(snapshot_id=sid), ctx
        assert snap["planned_records"] == snap["rows"], ctx  # copy-on-write only: no delete files
        if snap["summary_total_records"] is not None:
            assert snap["summary_total_records"] == snap["rows"], ctx
        head = sid == java["current_snapshot_id"]
        # datashard reads the head with the table's current schema, Iceberg with the snapshot's
        if not head or schema_ids[sid] == java["current_schema_id"]:
            assert snap["schema_columns"] == mine["columns"], ctx
            assert same_number(snap["sum"], mine["sum"]), ctx
            assert snap["non_null"] == mine["non_null"], ctx
            if where is not None:
                assert snap["filtered_rows"] == mine["filtered_rows"], ctx
    return java


def ids(n: int, start: int = 0) -> pa.Array:
    return pa.array(range(start, start + n), pa.int64())
