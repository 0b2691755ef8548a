"""Iceberg Java (iceberg-core/-data/-parquet, StaticTableOperations over HadoopFileIO) reads
every snapshot of tables datashard wrote, and gets the rows, sums and filtered counts that
datashard's own time-travel reads of the same snapshots get."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from interop_support import check_java_agrees, ids, java_read

from datashard import PartitionField, PartitionSpec, Schema, create_table

SCHEMA = Schema(
    schema_id=0,
    fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "grp", "type": "string", "required": True},
        {"id": 3, "name": "amount", "type": "long"},
        {"id": 4, "name": "score", "type": "double"},
        {"id": 5, "name": "ts", "type": "timestamp"},
        {"id": 6, "name": "small", "type": "int"},
    ],
)


def batch(start: int, n: int) -> pa.Table:
    r = range(start, start + n)
    return pa.table(
        {
            "id": ids(n, start),
            "grp": [f"g{i % 3}" for i in r],
            "amount": pa.array([None if i % 7 == 6 else i * 10 for i in r], pa.int64()),
            "score": pa.array([i / 4 for i in r], pa.float64()),  # exact in binary: sums agree exactly
            "ts": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(hours=7 * i) for i in r], pa.timestamp("us")),
            "small": pa.array([i % 100 for i in r], pa.int32()),
        }
    )


def test_plain_appends_every_snapshot_and_every_version(tmp_path: Path) -> None:
    t = create_table(tmp_path / "plain", SCHEMA)
    t.refresh()
    versions = [t.metadata_location]  # the empty table
    t.append(batch(0, 10))
    t.append(batch(10, 1))
    with t.new_transaction() as tx:  # two files, one snapshot
        tx.append(batch(11, 20))
        tx.append(batch(31, 5))
    t.append_records(batch(36, 7).to_pylist())
    t.append(batch(43, 100))
    t.refresh()
    versions.append(t.metadata_location)
    java = check_java_agrees(t, "amount", ("id", ">", 20))
    assert len(java["snapshots"]) == 5 and [s["rows"] for s in java["snapshots"]] == [10, 11, 36, 43, 143]
    check_java_agrees(t, "score", ("grp", "==", "g1"))
    check_java_agrees(t, "small", ("ts", ">=", "2024-01-10T00:00:00"))

    # every metadata file ever written opens in Iceberg Java, the empty table's included
    meta = Path(t.location) / "metadata"
    files = sorted(meta.glob("v*.metadata.json"), key=lambda p: int(p.name[1:].split(".")[0]))
    assert len(files) == 6
    empty = java_read(str(files[0]), "amount")
    assert empty["current_snapshot_id"] is None and empty["snapshots"] == [] and empty["refs"] == {}
    for f in files[1:]:
        check_java_agrees(t, "amount", ("id", "<=", 10), metadata_location=str(f))


def test_schema_evolution(tmp_path: Path) -> None:
    t = create_table(tmp_path / "evolve", SCHEMA)
    t.append(batch(0, 20))
    t.add_column("extra", "long")
    t.append(batch(20, 10).append_column("extra", pa.array(range(10), pa.int64())))
    with t.update_schema() as u:
        u.rename_column("amount", "total")
        u.widen_column("small", "long")
    t.append(batch(30, 5).rename_columns(["id", "grp", "total", "score", "ts", "small"]))
    java = check_java_agrees(t, "small", ("small", ">", 10))
    # Iceberg reads each snapshot with its own schema, as datashard does
    assert [s["schema_columns"] for s in java["snapshots"]] == [
        ["id", "grp", "amount", "score", "ts", "small"],
        ["id", "grp", "amount", "score", "ts", "small", "extra"],
        ["id", "grp", "total", "score", "ts", "small", "extra"],
    ]
    check_java_agrees(t, "extra", ("extra", ">=", 5))
    check_java_agrees(t, "total", ("total", "<", 100))  # renamed: found by field id in old files
    check_java_agrees(t, "amount")  # the old name, in the old snapshots


def test_schema_evolution_drop_column(tmp_path: Path) -> None:
    t = create_table(tmp_path / "drop", SCHEMA)
    t.append(batch(0, 20))
    t.drop_column("amount")
    t.append(batch(20, 10).drop_columns(["amount"]))
    check_java_agrees(t, "amount")
    check_java_agrees(t, "score", ("id", ">", 5))


def test_partitioned_identity_and_day(tmp_path: Path) -> None:
    spec = PartitionSpec(0, [PartitionField(2, 1000, "grp", "identity"), PartitionField(5, 1001, "ts_day", "day")])
    t = create_table(tmp_path / "part_day", SCHEMA, partition_spec=spec)
    t.append(batch(0, 40))
    t.append(batch(40, 40))
    t.delete([("grp", "==", "g2"), ("id", "<", 60)])
    java = check_java_agrees(t, "amount", ("grp", "==", "g1"))
    assert java["specs"] == [{"spec_id": 0, "fields": ["grp=identity", "ts_day=day"]}]
    # pruning by our partition values: a one-group filter plans only that group's files
    last = java["snapshots"][-1]
    assert 0 < last["filtered_files"] < last["data_files"]
    check_java_agrees(t, "score", ("ts", "<", "2024-01-05T00:00:00"))
    check_java_agrees(t, "amount", ("ts", ">=", "2024-01-08T03:00:00"))


def test_partitioned_bucket_and_truncate(tmp_path: Path) -> None:
    spec = PartitionSpec(
        0, [PartitionField(1, 1000, "id_bucket", "bucket[4]"), PartitionField(2, 1001, "grp_t", "truncate[1]")]
    )
    t = create_table(tmp_path / "part_bucket", SCHEMA, partition_spec=spec)
    t.append(batch(0, 50))
    t.append(batch(50, 30))
    java = check_java_agrees(t, "amount", ("id", "==", 17))
    # Iceberg's bucket hash agrees with ours: the equality filter plans one bucket's files only
    last = java["snapshots"][-1]
    assert last["filtered_rows"] == 1 and last["filtered_files"] < last["data_files"]
    for k in (0, 1, 33, 79):
        j = java_read(t.metadata_location, "amount", ("id", "==", k))
        assert j["snapshots"][-1]["filtered_rows"] == 1, (k, j["snapshots"][-1])
    check_java_agrees(t, "score", ("grp", "==", "g0"))


def test_deletes_and_overwrite(tmp_path: Path) -> None:
    t = create_table(tmp_path / "rowchanges", SCHEMA)
    t.append(batch(0, 30))
    t.append(batch(30, 30))
    assert t.delete({"grp": "g0"}) == 20
    assert t.delete([("id", ">=", 50)]) == 7
    t.overwrite(batch(1000, 4), where=[("id", "<", 10)])
    t.overwrite(batch(2000, 3))  # everything
    java = check_java_agrees(t, "amount", ("id", ">", 15))
    ops = [s["operation"] for s in java["snapshots"]]
    assert ops[:2] == ["append", "append"] and ops[5] == "overwrite"
    assert set(ops[2:5]) <= {"delete", "overwrite"}  # a copy-on-write rewrite is an Iceberg "overwrite"
    assert [s["rows"] for s in java["snapshots"]] == [30, 60, 40, 33, 31, 3]
    check_java_agrees(t, "score")


def test_expiry_and_tag(tmp_path: Path) -> None:
    t = create_table(tmp_path / "expire", SCHEMA)
    sids = [t.append(batch(i * 10, 10)) for i in range(5)]
    t.create_tag("v1", sids[1])
    t.delete({"grp": "g1"})
    res = t.expire_snapshots(retain_last=1)
    assert sorted(res["expired_snapshot_ids"]) == sorted([sids[0], *sids[2:]])
    assert res["deleted_data_files"] > 0  # files only expired snapshots used are gone
    java = check_java_agrees(t, "amount", ("id", "<", 12))
    assert java["refs"]["v1"] == {"type": "tag", "snapshot_id": sids[1]}
    assert {s["snapshot_id"] for s in java["snapshots"]} == {sids[1], t.current_snapshot().snapshot_id}
    assert {s["snapshot_id"]: s["rows"] for s in java["snapshots"]}[sids[1]] == 20 == t.row_count(ref="v1")
    # an append after the expiry, and one more tag, on the head
    t.append(batch(500, 5))
    t.create_tag("after", None)
    java = check_java_agrees(t, "score", ("grp", "==", "g2"))
    assert set(java["refs"]) == {"main", "v1", "after"}


def test_long_history_window(tmp_path: Path) -> None:
    """datashard keeps the newest ``datashard.metadata.max-snapshots`` (32) snapshots in the
    current metadata file and older ones only through the metadata-log chain. Iceberg Java
    sees what the current file lists: the window; every snapshot of it reads the same."""
    t = create_table(tmp_path / "long", SCHEMA)
    sids = [t.append(batch(i, 1)) for i in range(40)]
    java = check_java_agrees(t, "amount")
    seen = [s["snapshot_id"] for s in java["snapshots"]]
    assert seen == sids[-len(seen) :]
    # the older snapshots still read in datashard; Iceberg Java reaches them through the
    # older metadata files, each of which opens on its own
    assert t.row_count(snapshot_id=sids[0]) == 1
    first_version = min(
        Path(t.location, "metadata").glob("v*.metadata.json"), key=lambda p: int(p.name[1:].split(".")[0])
    )
    assert first_version.name == "v1.metadata.json"
    check_java_agrees(t, "amount", metadata_location=str(Path(t.location, "metadata", "v2.metadata.json")))


def test_schema_on_write_every_version(tmp_path: Path) -> None:
    """A table created without a schema: the empty table (no columns), the version its first
    append's schema set, and the appends after it all open in Iceberg Java."""
    t = create_table(tmp_path / "sow")
    t.append_records([{"id": i, "grp": f"g{i % 3}", "amount": i * 10, "score": i / 4} for i in range(12)])
    t.append(batch(12, 30).select(["id", "grp", "amount", "score"]))
    t.refresh()
    assert [(f["name"], f["type"]) for f in t.schema().fields] == [
        ("id", "long"), ("grp", "string"), ("amount", "long"), ("score", "double")]
    check_java_agrees(t, "amount", ("grp", "==", "g1"))
    check_java_agrees(t, "score", ("id", ">", 20))
    meta = Path(t.location) / "metadata"
    files = sorted(meta.glob("v*.metadata.json"), key=lambda p: int(p.name[1:].split(".")[0]))
    assert len(files) == 4  # empty, schema set, two appends
    for f in files[:2]:  # no columns yet, then columns and no rows: both an empty table
        empty = java_read(str(f), "amount")
        assert empty["current_snapshot_id"] is None and empty["snapshots"] == []
    for f in files[2:]:
        check_java_agrees(t, "amount", ("id", "<=", 10), metadata_location=str(f))
