"""Snapshots, history and time travel."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from datashard import Snapshot, Table

from conftest import by_id, make_rows


def test_snapshots_list(filled: Table) -> None:
    snaps = filled.snapshots()
    assert len(snaps) == 3
    for s in snaps:
        for key in ("snapshot_id", "timestamp_ms", "timestamp", "operation", "summary", "parent_id"):
            assert key in s
        assert isinstance(s["timestamp"], datetime) and s["timestamp"].tzinfo is None
        assert s["operation"] == "append"
        assert isinstance(s["summary"], dict)
    assert snaps[0]["parent_id"] is None
    assert snaps[1]["parent_id"] == snaps[0]["snapshot_id"]
    assert snaps[2]["parent_id"] == snaps[1]["snapshot_id"]
    assert [s["timestamp_ms"] for s in snaps] == sorted(s["timestamp_ms"] for s in snaps)
    assert [s["sequence_number"] for s in snaps] == sorted({s["sequence_number"] for s in snaps})


def test_current_snapshot_and_lookup(filled: Table) -> None:
    cur = filled.current_snapshot()
    assert isinstance(cur, Snapshot)
    last = filled.snapshots()[-1]
    assert cur.snapshot_id == last["snapshot_id"]
    assert cur.parent_snapshot_id == last["parent_id"]
    assert cur.timestamp_ms == last["timestamp_ms"]
    assert cur.operation == "append"
    assert cur.manifest_list
    assert cur.sequence_number == last["sequence_number"]
    assert filled.snapshot_by_id(cur.snapshot_id) == cur
    assert filled.snapshot_by_id(12345) is None


@pytest.mark.smoke
def test_time_travel_returns_snapshots(filled: Table) -> None:
    snaps = filled.snapshots()
    assert filled.time_travel().snapshot_id == snaps[-1]["snapshot_id"]
    assert filled.time_travel(snapshot_id=snaps[0]["snapshot_id"]).snapshot_id == snaps[0]["snapshot_id"]
    assert filled.time_travel(snapshot_id=999) is None
    # by time: the snapshot current at that moment
    assert filled.time_travel(timestamp=snaps[1]["timestamp_ms"]).snapshot_id == snaps[1]["snapshot_id"]
    assert filled.time_travel(timestamp=snaps[0]["timestamp_ms"] - 1) is None
    assert filled.time_travel(timestamp=snaps[-1]["timestamp"]).snapshot_id == snaps[-1]["snapshot_id"]


@pytest.mark.smoke
def test_scan_at_each_snapshot(filled: Table) -> None:
    snaps = filled.snapshots()
    for i, s in enumerate(snaps):
        rows = filled.scan(snapshot_id=s["snapshot_id"])
        assert by_id(rows) == make_rows(0, 10 * (i + 1))
        assert filled.row_count(snapshot_id=s["snapshot_id"]) == 10 * (i + 1)
        assert filled.to_arrow(snapshot_id=s["snapshot_id"]).num_rows == 10 * (i + 1)
    first = snaps[0]["snapshot_id"]
    assert filled.read_as_of(snapshot_id=first).num_rows == 10
    assert filled.read_as_of(timestamp=snaps[1]["timestamp_ms"]).num_rows == 20
    assert filled.read_as_of(timestamp=snaps[0]["timestamp_ms"] - 1).num_rows == 0


@pytest.mark.smoke
def test_other_handles_see_new_commits(table: Table) -> None:
    from datashard import load_table

    other = load_table(table.location)
    table.append_records(make_rows(0, 4))
    assert other.row_count() == 4  # the original re-read metadata on every call
    assert other.current_snapshot().snapshot_id == table.current_snapshot().snapshot_id
    assert other.refresh() is True


def test_snapshots_beyond_the_metadata_window(table: Table) -> None:
    ids = []
    for i in range(40):  # more than the default window of 32
        table.append(pa.table({"id": [i], "group": [0]}))
        ids.append(table.current_snapshot().snapshot_id)
    window = table.snapshots()
    assert 1 <= len(window) <= 40
    assert window[-1]["snapshot_id"] == ids[-1]
    for i, sid in enumerate(ids):  # every snapshot stays reachable by id, and readable
        snap = table.snapshot_by_id(sid)
        assert snap is not None and snap.snapshot_id == sid
        assert table.row_count(snapshot_id=sid) == i + 1
    assert sorted(r["id"] for r in table.scan(snapshot_id=ids[0])) == [0]
    assert table.time_travel(timestamp=table.snapshot_by_id(ids[0]).timestamp_ms).snapshot_id in ids[:5]
