"""Adding existing Parquet files: Transaction.append_files (the original package's call),
Table.append_data(files) and Table.add_files."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datashard import (
    DataFile,
    InvalidArgumentError,
    PartitionField,
    PartitionSpec,
    Schema,
    SchemaError,
    Table,
    create_table,
)

from conftest import by_id, files_under, make_rows


def _write(path: str, table: pa.Table) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)
    return path


def _rows(table: Table, start: int, n: int, *, with_ids: bool) -> pa.Table:
    data = pa.Table.from_pylist(make_rows(start, n))
    return data.cast(table.arrow_schema()) if with_ids else data


def test_file_with_field_ids_is_registered_in_place(table: Table) -> None:
    path = _write(os.path.join(table.location, "data", "batch-0.parquet"), _rows(table, 0, 10, with_ids=True))
    with table.new_transaction() as tx:
        assert tx.append_files([DataFile(file_path="data/batch-0.parquet")]) is tx
    files = table.data_files()
    assert [f["file_path"] for f in files] == [path]
    assert files[0]["record_count"] == 10 and files[0]["file_size_in_bytes"] == os.path.getsize(path)
    assert by_id(table.scan()) == by_id(make_rows(0, 10))
    # statistics were computed from the rows: a filter outside them skips the file
    scan = table.new_scan(filter={"id": (">", 100)})
    assert scan.to_arrow().num_rows == 0 and scan.metrics["files_skipped"] == 1


def test_plain_pyarrow_file_is_copied_and_source_removed(table: Table) -> None:
    src = _write(os.path.join(table.location, "data", "plain.parquet"), _rows(table, 0, 5, with_ids=False))
    assert table.append_data([src]) is True
    assert table.row_count() == 5
    assert src not in {f["file_path"] for f in table.data_files()}
    assert not os.path.exists(src)  # its rows live in the table's own file now
    assert by_id(table.scan()) == by_id(make_rows(0, 5))


@pytest.mark.parametrize("spelling", ["absolute", "relative", "slash-relative", "datafile", "entry"])
def test_every_path_spelling(table: Table, spelling: str) -> None:
    path = _write(os.path.join(table.location, "data", "x.parquet"), _rows(table, 0, 3, with_ids=True))
    rel = "data/x.parquet"
    arg = {
        "absolute": path,
        "relative": rel,
        "slash-relative": "/" + rel,
        "datafile": DataFile(file_path=rel),
        "entry": {"file_path": path},
    }[spelling]
    snapshot_id = table.add_files([arg])
    assert snapshot_id == table.current_snapshot().snapshot_id
    assert table.row_count() == 3


def test_one_transaction_combines_files_rows_and_deletes(filled: Table) -> None:
    path = _write(os.path.join(filled.location, "data", "more.parquet"), _rows(filled, 100, 4, with_ids=True))
    with filled.new_transaction() as tx:
        tx.append_files([path])
        tx.append_data(make_rows(200, 2))
        tx.delete({"id": ("<", 10)})
    ids = sorted(r["id"] for r in filled.scan(columns=["id"]))
    assert ids == list(range(10, 30)) + [100, 101, 102, 103, 200, 201]


def test_rollback_leaves_the_users_file(table: Table) -> None:
    path = _write(os.path.join(table.location, "data", "keep.parquet"), _rows(table, 0, 3, with_ids=True))
    tx = table.new_transaction().begin()
    tx.append_files([path])
    tx.rollback()
    assert os.path.exists(path) and table.current_snapshot() is None


def _bad_cases(table: Table, tmp_path) -> dict[str, tuple[object, type]]:
    loc = table.location
    outside = _write(str(tmp_path / "elsewhere" / "x.parquet"), _rows(table, 0, 2, with_ids=False))
    with open(os.path.join(loc, "data", "notes.txt"), "w") as f:
        f.write("not parquet")
    unknown = _write(os.path.join(loc, "data", "unknown.parquet"), pa.table({"id": [1], "surprise": [2]}))
    null_id = _write(os.path.join(loc, "data", "nullid.parquet"), pa.table({"id": pa.array([None], pa.int64())}))
    bad_type = _write(os.path.join(loc, "data", "badtype.parquet"), pa.table({"id": ["not a number"]}))
    return {
        "outside the table": (outside, InvalidArgumentError),
        "missing": (os.path.join(loc, "data", "missing.parquet"), InvalidArgumentError),
        "not parquet": (os.path.join(loc, "data", "notes.txt"), InvalidArgumentError),
        "metadata dir": (table.metadata_location, InvalidArgumentError),
        "unknown column": (unknown, SchemaError),
        "null in required": (null_id, SchemaError),
        "uncastable type": (bad_type, SchemaError),
        "not a path": (42, InvalidArgumentError),
    }


def test_bad_files_are_refused_with_nothing_written(filled: Table, tmp_path) -> None:
    os.makedirs(os.path.join(filled.location, "data"), exist_ok=True)
    cases = _bad_cases(filled, tmp_path)
    before = files_under(filled.location)
    version = filled.version
    for name, (arg, error) in cases.items():
        with pytest.raises(error):
            filled.add_files([arg])
        filled.refresh()
        assert filled.version == version, name
        assert files_under(filled.location) == before, name
    assert filled.row_count() == 30


def test_a_file_already_in_the_table_or_given_twice(filled: Table) -> None:
    existing = filled.data_files()[0]["file_path"]
    with pytest.raises(InvalidArgumentError, match="already a data file"):
        filled.add_files([existing])
    path = _write(os.path.join(filled.location, "data", "twice.parquet"), _rows(filled, 50, 1, with_ids=True))
    with pytest.raises(InvalidArgumentError, match="given twice"):
        filled.add_files([path, path])
    assert filled.row_count() == 30


def test_append_data_with_records_points_to_append_records(table: Table) -> None:
    with pytest.raises(InvalidArgumentError, match="append_records"):
        table.append_data(make_rows(0, 2))


def test_partitioned_table_copies_rows_into_partitions(tmp_path) -> None:
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "id", "type": "long", "required": True},
            {"id": 2, "name": "grp", "type": "string", "required": False},
        ],
    )
    spec = PartitionSpec(0, [PartitionField(2, 1000, "grp", "identity")])
    t = create_table(str(tmp_path / "p"), schema, spec)
    src = _write(os.path.join(t.location, "data", "in.parquet"), pa.table({"id": [1, 2, 3], "grp": ["a", "b", "a"]}))
    t.add_files([src])
    assert t.row_count() == 3
    assert len(t.data_files()) == 2  # one per partition
    assert sorted(r["id"] for r in t.scan(filter={"grp": "a"})) == [1, 3]


def test_partitioned_table_registers_a_file_of_one_partition_in_place(tmp_path) -> None:
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "id", "type": "long", "required": True},
            {"id": 2, "name": "day", "type": "date", "required": False},
        ],
    )
    spec = PartitionSpec(0, [PartitionField(2, 1000, "day_month", "month")])
    t = create_table(str(tmp_path / "p"), schema, spec)
    import datetime as dt

    rows = pa.table({"id": [1, 2, 3], "day": [dt.date(2024, 3, 1), dt.date(2024, 3, 9), dt.date(2024, 3, 31)]})
    src = _write(os.path.join(t.location, "data", "march.parquet"), rows.cast(t.arrow_schema()))
    t.add_files([src])
    assert [d["file_path"] for d in t.data_files()] == [src]  # in place: all of March
    scan = t.new_scan(filter=[("day", ">=", dt.date(2024, 4, 1))])
    assert scan.count() == 0 and scan.metrics["files_skipped"] == 1  # pruned by its partition
    from pyiceberg.table import StaticTable

    assert StaticTable.from_metadata(t.metadata_location).scan().to_arrow().num_rows == 3


def test_pyiceberg_reads_registered_and_copied_files(table: Table) -> None:
    from pyiceberg.table import StaticTable

    table.add_files([_write(os.path.join(table.location, "data", "a.parquet"), _rows(table, 0, 4, with_ids=True))])
    table.add_files([_write(os.path.join(table.location, "data", "b.parquet"), _rows(table, 4, 4, with_ids=False))])
    st = StaticTable.from_metadata(table.metadata_location)
    theirs = st.scan().to_arrow().to_pylist()
    assert by_id(theirs) == by_id(make_rows(0, 8))
    assert sorted(st.scan(row_filter="id >= 6").to_arrow()["id"].to_pylist()) == [6, 7]
