"""After deletes, overwrites and file removals the table is still Iceberg v2 that PyIceberg
reads: every snapshot, through the metadata file we point it at, gives the rows we give."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datashard import PartitionField, PartitionSpec, Schema, Table, create_table

pyiceberg_table = pytest.importorskip("pyiceberg.table")

SCHEMA = Schema(
    schema_id=0,
    fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "grp", "type": "int", "required": True},
        {"id": 3, "name": "s", "type": "string"},
        {"id": 4, "name": "x", "type": "double"},
    ],
)


def _rows(start: int, n: int) -> list[dict]:
    return [
        {"id": k, "grp": k % 4, "s": None if k % 5 == 0 else f"s{k}", "x": None if k % 7 == 0 else k / 4}
        for k in range(start, start + n)
    ]


def _sorted(table: pa.Table) -> list[dict]:
    return sorted(table.select(["id", "grp", "s", "x"]).to_pylist(), key=lambda r: r["id"])


def _check_every_snapshot(t: Table) -> None:
    from pyiceberg.table import StaticTable

    t.refresh()
    st = StaticTable.from_metadata(t.metadata_location)
    assert st.current_snapshot().snapshot_id == t.current_snapshot().snapshot_id
    assert _sorted(st.scan().to_arrow()) == _sorted(t.to_arrow())
    for snap in t.snapshots():
        sid = snap["snapshot_id"]
        theirs = st.scan(snapshot_id=sid).to_arrow()
        assert _sorted(theirs) == _sorted(t.to_arrow(snapshot_id=sid)), snap
        their_snap = st.snapshot_by_id(sid)
        assert their_snap.summary.operation.value == snap["operation"]
        assert int(their_snap.summary["total-records"]) == t.row_count(snapshot_id=sid) == theirs.num_rows
    # PyIceberg's own filter pushdown over our rewritten files' statistics agrees too
    assert sorted(st.scan(row_filter="id >= 20 and grp = 1").to_arrow()["id"].to_pylist()) == sorted(
        r["id"] for r in t.scan(filter={"id": (">=", 20), "grp": 1}, columns=["id"])
    )


@pytest.mark.parametrize("partitioned", [False, True], ids=["unpartitioned", "partitioned-by-grp"])
def test_pyiceberg_reads_after_deletes_and_overwrites(tmp_path, partitioned: bool) -> None:
    spec = PartitionSpec(fields=[PartitionField(source_id=2, field_id=1000, name="grp")]) if partitioned else None
    t = create_table(str(tmp_path / "t"), SCHEMA, partition_spec=spec)
    for start in (0, 20, 40):
        t.append_records(_rows(start, 20))
    _check_every_snapshot(t)

    assert t.delete({"id": ("between", (5, 24))}) == 20  # rewrites two files (or partitions)
    _check_every_snapshot(t)

    assert t.overwrite(_rows(100, 6), where={"grp": 2}) > 0
    _check_every_snapshot(t)

    with t.new_transaction() as tx:  # delete + append + file removal in one snapshot
        tx.delete({"s": ("is_null", None)})
        tx.append_data(_rows(200, 3))
    _check_every_snapshot(t)

    with t.new_transaction() as tx:
        tx.delete_files([t.data_files()[0]["file_path"]])
    _check_every_snapshot(t)

    assert t.delete(None) == t.row_count(snapshot_id=t.snapshots()[-2]["snapshot_id"])
    _check_every_snapshot(t)
    assert t.scan() == []


def test_pyiceberg_reads_a_serializable_counter_history(tmp_path) -> None:
    t = create_table(str(tmp_path / "c"), SCHEMA)
    t.append_records([{"id": 0, "grp": 0, "x": 0.0}])

    def increment(tx) -> None:
        n = tx.to_arrow(filter={"id": 0})["x"][0].as_py() + 1
        tx.overwrite([{"id": 0, "grp": 0, "x": n}], where={"id": 0})

    for _ in range(5):
        t.transact(increment)
    _check_every_snapshot(t)
    from pyiceberg.table import StaticTable

    assert StaticTable.from_metadata(t.metadata_location).scan().to_arrow()["x"].to_pylist() == [5.0]
