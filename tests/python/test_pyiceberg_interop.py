"""Tables written here are Iceberg v2: PyIceberg opens every snapshot through its metadata file
and reads the same rows we do."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pytest

from datashard import Schema, create_table

pyiceberg_table = pytest.importorskip("pyiceberg.table")

SCHEMA = Schema(
    schema_id=0,
    fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "i", "type": "int"},
        {"id": 3, "name": "s", "type": "string"},
        {"id": 4, "name": "d", "type": "double"},
        {"id": 5, "name": "f", "type": "float"},
        {"id": 6, "name": "b", "type": "boolean"},
        {"id": 7, "name": "dt", "type": "date"},
        {"id": 8, "name": "ts", "type": "timestamp"},
        {"id": 9, "name": "tz", "type": "timestamptz"},
        {"id": 10, "name": "dec", "type": "decimal(10, 3)"},
        {"id": 11, "name": "bin", "type": "binary"},
        {"id": 12, "name": "u", "type": "uuid"},
    ],
)


def _rows(start: int, n: int) -> list[dict]:
    out = []
    for k in range(start, start + n):
        out.append(
            {
                "id": k,
                "i": None if k % 4 == 3 else k * 10,
                "s": f"s{k}",
                "d": k / 3,
                "f": float(k),
                "b": k % 2 == 0,
                "dt": dt.date(2024, 1, 1) + dt.timedelta(days=k),
                "ts": dt.datetime(2024, 1, 1, 12) + dt.timedelta(seconds=k),
                "tz": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=k),
                "dec": decimal.Decimal(k) / 8,
                "bin": bytes([k % 256]) * 3,
                "u": str(uuid.UUID(int=k + 1)),
            }
        )
    return out


def _normalise(table: pa.Table) -> list[dict]:
    def norm(v):
        if isinstance(v, uuid.UUID):
            return v.bytes
        return v

    rows = [{k: norm(v) for k, v in r.items()} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: r["id"])


def test_pyiceberg_reads_every_snapshot(tmp_path) -> None:
    from pyiceberg.table import StaticTable

    t = create_table(str(tmp_path / "interop"), SCHEMA)
    t.refresh()
    states = [(t.metadata_location, None)]  # the empty table, before any commit
    t.append_records(_rows(0, 5))
    t.refresh()
    states.append((t.metadata_location, t.current_snapshot().snapshot_id))
    with t.new_transaction() as tx:  # two files, one snapshot
        tx.append_data(_rows(5, 4))
        tx.append_data(_rows(9, 3))
    t.refresh()
    states.append((t.metadata_location, t.current_snapshot().snapshot_id))
    t.append(pa.table({"id": pa.array([100, 101], pa.int64()), "s": ["x", None]}))
    t.refresh()
    states.append((t.metadata_location, t.current_snapshot().snapshot_id))
    assert len({m for m, _ in states}) == len(states)

    for metadata_path, snapshot_id in states:
        st = StaticTable.from_metadata(metadata_path)
        if snapshot_id is None:
            assert st.current_snapshot() is None
            assert st.scan().to_arrow().num_rows == 0
            continue
        assert st.current_snapshot().snapshot_id == snapshot_id
        theirs = st.scan().to_arrow()
        ours = t.new_scan(snapshot_id=snapshot_id).to_arrow()  # Iceberg's uuid: 16 bytes, as PyIceberg's
        assert theirs.num_rows == ours.num_rows == t.row_count(snapshot_id=snapshot_id)
        assert _normalise(theirs) == _normalise(ours)
        # a filtered read agrees too (PyIceberg prunes with our manifest statistics)
        assert sorted(theirs.filter(pa.compute.greater(theirs["id"], 3))["id"].to_pylist()) == sorted(
            r["id"] for r in t.scan(snapshot_id=snapshot_id, filter={"id": (">", 3)}, columns=["id"])
        )
        assert sorted(st.scan(row_filter="id > 3").to_arrow()["id"].to_pylist()) == sorted(
            r["id"] for r in t.scan(snapshot_id=snapshot_id, filter={"id": (">", 3)}, columns=["id"])
        )

    # every snapshot is also reachable from the latest metadata file
    latest = StaticTable.from_metadata(states[-1][0])
    for _, snapshot_id in states[1:]:
        assert _normalise(latest.scan(snapshot_id=snapshot_id).to_arrow()) == _normalise(
            t.new_scan(snapshot_id=snapshot_id).to_arrow()
        )
