"""DuckDB's Iceberg extension (iceberg_scan, loaded from the duckdb-ext-iceberg and
duckdb-ext-avro packages of PyPI) reads datashard's tables: the same rows and sums as
datashard's own reads, for every snapshot, for a table whose schema its first append set too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import duckdb_ext
import pyarrow as pa
import pyarrow.compute as pc

from datashard import Schema, create_table


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    root = Path(list(duckdb_ext.__path__)[0])
    for name in ("avro", "iceberg"):  # iceberg needs avro loaded first
        (found,) = root.glob(f"extensions/v{duckdb.__version__}/*/{name}.duckdb_extension")
        con.execute(f"LOAD '{found}'")
    return con


def stats(con: duckdb.DuckDBPyConnection, source: str) -> tuple:
    return con.sql(f"select count(*), sum(amount), count_if(grp = 'g1') from {source}").fetchone()


def ours(table, snapshot_id: int | None = None) -> tuple:
    data = table.to_arrow(snapshot_id=snapshot_id)
    total = pc.sum(data["amount"]).as_py() if data.num_rows else None
    return data.num_rows, total, len(table.to_arrow(snapshot_id=snapshot_id, filter={"grp": "g1"}))


def test_duckdb_reads_every_snapshot(tmp_path: Path) -> None:
    schema = Schema(schema_id=0, fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "grp", "type": "string", "required": True},
        {"id": 3, "name": "amount", "type": "long"},
        {"id": 4, "name": "ts", "type": "timestamp"},
    ])
    t = create_table(tmp_path / "t", schema)
    for start, n in ((0, 30), (30, 7), (37, 50)):
        r = range(start, start + n)
        t.append(pa.table({
            "id": pa.array(list(r), pa.int64()),
            "grp": [f"g{i % 3}" for i in r],
            "amount": pa.array([None if i % 5 == 4 else i * 3 for i in r], pa.int64()),
            "ts": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in r], pa.timestamp("us")),
        }))
    t.delete({"grp": "g2", "id": ("<", 20)})
    t.refresh()
    con = connect()
    assert stats(con, f"iceberg_scan('{t.metadata_location}')") == ours(t)
    for snapshot in t.snapshots():
        sid = snapshot["snapshot_id"]
        source = f"iceberg_scan('{t.metadata_location}', snapshot_from_id={sid})"
        assert stats(con, source) == ours(t, sid), sid


def test_duckdb_reads_a_schema_on_write_table(tmp_path: Path) -> None:
    t = create_table(tmp_path / "sow")
    t.append_records([{"id": i, "grp": f"g{i % 3}", "amount": i * 10, "when": dt.date(2024, 1, 1 + i % 28)}
                      for i in range(40)])
    t.append_records([{"id": 100, "grp": "g1", "amount": None}])
    t.refresh()
    con = connect()
    source = f"iceberg_scan('{t.metadata_location}')"
    assert stats(con, source) == ours(t)
    described = {row[0]: row[1] for row in con.sql(f"describe select * from {source}").fetchall()}
    assert described == {"id": "BIGINT", "grp": "VARCHAR", "amount": "BIGINT", "when": "DATE"}


def test_duckdb_reads_a_sorted_and_z_ordered_table(tmp_path: Path) -> None:
    t = create_table(tmp_path / "sorted", pa.schema([("id", pa.int64()), ("grp", pa.string()), ("amount", pa.int64())]))
    t.replace_sort_order("id desc", "grp")
    for start in (0, 50, 90):
        r = range(start, start + 40)
        t.append(pa.table({"id": list(r), "grp": [f"g{i % 3}" for i in r],
                           "amount": [None if i % 5 == 4 else i * 3 for i in r]}))
    t.compact(sort=True)
    con = connect()
    assert stats(con, f"iceberg_scan('{t.metadata_location}')") == ours(t)
    t.compact(zorder=["id", "amount"])
    t.refresh()
    assert stats(con, f"iceberg_scan('{t.metadata_location}')") == ours(t)
    for snapshot in t.snapshots():
        sid = snapshot["snapshot_id"]
        assert stats(con, f"iceberg_scan('{t.metadata_location}', snapshot_from_id={sid})") == ours(t, sid), sid
